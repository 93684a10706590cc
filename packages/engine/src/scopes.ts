/**
 * Interned scopes and scope combinations. A dossier stores one combo id (4 bytes) standing for its
 * (unit, procedure, sector, channel) of the `received` event; the combo lists the five scope ids
 * (province first) whose cells a fact updates.
 */
export const SCOPE_KINDS = ['province', 'unit', 'procedure', 'sector', 'channel'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

export interface ScopeRef {
  kind: ScopeKind;
  code: string;
  /** Units only: department or commune, from the unit catalog (absent when the unit is not catalogued). */
  group?: string;
}

export const SCOPES_PER_COMBO = 5;
export const PROVINCE_SCOPE = 0;

export class ScopeTable {
  readonly kinds: number[] = [];
  readonly codes: string[] = [];
  readonly groups: (string | undefined)[] = [];
  private readonly ids = new Map<string, number>();

  constructor(provinceCode: string) {
    this.intern(0, provinceCode, undefined);
  }

  get size(): number {
    return this.codes.length;
  }

  intern(kind: number, code: string, group: string | undefined): number {
    const key = `${kind}:${code}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.codes.length;
      this.ids.set(key, id);
      this.kinds.push(kind);
      this.codes.push(code);
      this.groups.push(group);
    }
    return id;
  }

  ref(id: number): ScopeRef {
    const kind = SCOPE_KINDS[this.kinds[id] as number] as ScopeKind;
    const group = this.groups[id];
    const code = this.codes[id] as string;
    return group === undefined ? { kind, code } : { kind, code, group };
  }
}

export class ComboTable {
  /** SCOPES_PER_COMBO scope ids per combo; -1 where the dossier has no such scope (e.g. unknown sector). */
  scopes = new Int32Array(64 * SCOPES_PER_COMBO);
  size = 0;
  private readonly ids = new Map<string, number>();

  intern(unit: number, procedure: number, sector: number, channel: number): number {
    const key = `${unit},${procedure},${sector},${channel}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.size++;
      this.ids.set(key, id);
      if (this.size * SCOPES_PER_COMBO > this.scopes.length) {
        const next = new Int32Array(this.scopes.length * 2);
        next.set(this.scopes);
        this.scopes = next;
      }
      const o = id * SCOPES_PER_COMBO;
      this.scopes[o] = 0;
      this.scopes[o + 1] = unit;
      this.scopes[o + 2] = procedure;
      this.scopes[o + 3] = sector;
      this.scopes[o + 4] = channel;
    }
    return id;
  }
}
