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
const PACK = 2 ** 26;
export const PROVINCE_SCOPE = 0;

export class ScopeTable {
  readonly kinds: number[] = [];
  readonly codes: string[] = [];
  readonly groups: (string | undefined)[] = [];
  /** Id by code, one map per scope kind (no `${kind}:${code}` string built per look-up). */
  private readonly ids: Map<string, number>[] = SCOPE_KINDS.map(() => new Map<string, number>());

  constructor(provinceCode: string) {
    this.intern(0, provinceCode, undefined);
  }

  get size(): number {
    return this.codes.length;
  }

  intern(kind: number, code: string, group: string | undefined): number {
    const ids = this.ids[kind] as Map<string, number>;
    let id = ids.get(code);
    if (id === undefined) {
      id = this.codes.length;
      ids.set(code, id);
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
  /**
   * Id by (unit, procedure) → (sector, channel), as numbers: scope ids are far below 2^26, so each pair packs
   * into one exact double key (no string of four numbers formatted per new combo).
   */
  private readonly ids = new Map<number, Map<number, number>>();

  intern(unit: number, procedure: number, sector: number, channel: number): number {
    if (unit >= PACK || procedure >= PACK || sector >= PACK || channel >= PACK) throw new RangeError('scope id beyond the combo table range');
    const outerKey = unit * PACK + procedure;
    let inner = this.ids.get(outerKey);
    if (inner === undefined) {
      inner = new Map();
      this.ids.set(outerKey, inner);
    }
    const innerKey = (sector + 1) * PACK + (channel + 1);
    let id = inner.get(innerKey);
    if (id === undefined) {
      id = this.size++;
      inner.set(innerKey, id);
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
