/**
 * Compact per-dossier state, struct-of-arrays indexed by an interned dossier slot. The goal is ≤ 300 bytes
 * of heap per open dossier at a million open dossiers, so the common fields live in typed arrays
 * (≈ 50 bytes per slot), event fingerprints in a shared chunk pool, and only uncommon facts (a second
 * supplement round, late digitization, withdrawal, extensions) in a side map of small objects.
 *
 * Times are whole seconds since the epoch in Uint32 (good until 2106); 0 means "absent".
 */
import { CodeIndex, codeHash } from './code-index.js';

// flags bits
export const F_CHANNEL = 0b11; // 0 none, 1 direct, 2 online, 3 postal
export const F_HAS_RECV = 1 << 2;
export const F_BUSINESS = 1 << 3;
export const F_PAPER = 1 << 4;
export const F_VNEID_RECV = 1 << 5;
export const F_VNEID_SUB = 1 << 6;
export const F_POPDB = 1 << 7;
export const F_REUSED = 1 << 8;
export const F_PERSONAL = 1 << 9;
export const F_HAS_COMP = 1 << 10;
export const F_DIGIT_INTAKE = 1 << 11;
export const F_DIGIT_ALL = 1 << 12;
export const F_ERESULT = 1 << 13;
export const F_SYNCED = 1 << 14;
export const F_FEE_REQ = 1 << 15;
export const F_FEE_NONZERO = 1 << 16;
export const F_PAID_ONLINE = 1 << 17;
export const F_FEE_ANY = 1 << 18;
export const F_RATED = 1 << 19;
export const F_RATING_SHIFT = 20; // 2 bits: 0 satisfied, 1 neutral, 2 dissatisfied
export const F_RATING = 0b11 << F_RATING_SHIFT;
/** Gauge status currently accounted in the `now` cells: open, overdue, open-and-within-due. */
export const F_G_SHIFT = 22;
export const F_G_MASK = 0b111 << F_G_SHIFT;
export const F_RARE = 1 << 25;
/** The dossier changed since its contribution was last applied to the cells (engine.ts, `pending`). */
export const F_PENDING = 1 << 26;

export const END_NONE = 0;
export const END_RESOLVED = 1;
export const END_RETURNED = 2;
export const END_STOPPED = 3;
export const END_WITHDRAWN = 4;

/** Uncommon per-dossier facts, kept out of the typed arrays. */
export interface Rare {
  /** All supplement request / supply times, ascending, once a dossier has more than one of either. */
  reqs?: number[];
  sups?: number[];
  /** Fingerprints of component codes not digitized at intake (from the chosen `received`). */
  undigit?: number[];
  /** Fingerprints of component codes named by `digitized` events. */
  digit?: number[];
  withdrawnAt?: number;
  stoppedAt?: number;
  /** Times of deadline_extended events. */
  exts?: number[];
}

const FP_SLOTS = 4;
const FP_CHUNK = FP_SLOTS + 1; // slots, then next chunk + 1 (0 = none)

/** Event fingerprints, 4 per chunk, chunks linked per dossier; freed chunks are reused. */
export class FingerprintPool {
  data = new Uint32Array(FP_CHUNK * 1024);
  size = 1; // chunk 0 is never used, so 0 can mean "no chunk"
  freeHead = 0;

  private alloc(): number {
    if (this.freeHead !== 0) {
      const c = this.freeHead;
      const d = this.data;
      const o = c * FP_CHUNK;
      this.freeHead = d[o + FP_SLOTS] as number;
      // Explicit stores rather than d.fill(0, …), whose builtin call costs more than five writes.
      d[o] = 0;
      d[o + 1] = 0;
      d[o + 2] = 0;
      d[o + 3] = 0;
      d[o + 4] = 0;
      return c;
    }
    if ((this.size + 1) * FP_CHUNK > this.data.length) {
      const next = new Uint32Array(Math.ceil(this.data.length * 1.5 / FP_CHUNK) * FP_CHUNK);
      next.set(this.data);
      this.data = next;
    }
    return this.size++;
  }

  /** True if `fp` (non-zero) is in the list starting at `head`. */
  has(head: number, fp: number): boolean {
    const d = this.data;
    for (let c = head; c !== 0; c = d[c * FP_CHUNK + FP_SLOTS] as number) {
      const o = c * FP_CHUNK;
      if (d[o] === fp || d[o + 1] === fp || d[o + 2] === fp || d[o + 3] === fp) return true;
    }
    return false;
  }

  /** Adds fp to the list at `head`; returns the (possibly new) head. */
  add(head: number, fp: number): number {
    const d = this.data;
    if (head !== 0) {
      const o = head * FP_CHUNK;
      for (let i = 0; i < FP_SLOTS; i++) {
        if (d[o + i] === 0) {
          d[o + i] = fp;
          return head;
        }
      }
    }
    const c = this.alloc();
    this.data[c * FP_CHUNK] = fp;
    this.data[c * FP_CHUNK + FP_SLOTS] = head;
    return c;
  }

  free(head: number): void {
    let c = head;
    while (c !== 0) {
      const next = this.data[c * FP_CHUNK + FP_SLOTS] as number;
      this.data[c * FP_CHUNK + FP_SLOTS] = this.freeHead;
      this.freeHead = c;
      c = next;
    }
  }

  list(head: number): number[] {
    const out: number[] = [];
    for (let c = head; c !== 0; c = this.data[c * FP_CHUNK + FP_SLOTS] as number) {
      for (let i = 0; i < FP_SLOTS; i++) {
        const v = this.data[c * FP_CHUNK + i] as number;
        if (v !== 0) out.push(v);
      }
    }
    return out;
  }
}

function grow<T extends Uint32Array | Int32Array | Uint16Array | Uint8Array>(a: T, n: number): T {
  const next = new (a.constructor as new (n: number) => T)(n);
  next.set(a);
  return next;
}

export class DossierStore {
  capacity: number;
  /** Slots ever used; slots below it are live unless on the free list. */
  highWater = 0;
  live = 0;
  private freeSlots: number[] = [];
  private readonly index: CodeIndex;
  codes: (string | undefined)[] = [];

  recvAt: Uint32Array;
  recvFp: Uint32Array;
  dueAt: Uint32Array;
  endAt: Uint32Array;
  /** Latest event time seen (orphan eviction). */
  lastAt: Uint32Array;
  req1: Uint32Array;
  sup1: Uint32Array;
  feeAt: Uint32Array;
  rateAt: Uint32Array;
  combo: Int32Array;
  flags: Uint32Array;
  fpHead: Uint32Array;
  evCount: Uint16Array;
  endKind: Uint8Array;
  reqN: Uint8Array;
  supN: Uint8Array;
  readonly rare = new Map<number, Rare>();
  readonly fps = new FingerprintPool();

  constructor(initialCapacity = 1024) {
    const n = Math.max(16, initialCapacity);
    this.capacity = n;
    this.index = new CodeIndex(n);
    this.recvAt = new Uint32Array(n);
    this.recvFp = new Uint32Array(n);
    this.dueAt = new Uint32Array(n);
    this.endAt = new Uint32Array(n);
    this.lastAt = new Uint32Array(n);
    this.req1 = new Uint32Array(n);
    this.sup1 = new Uint32Array(n);
    this.feeAt = new Uint32Array(n);
    this.rateAt = new Uint32Array(n);
    this.combo = new Int32Array(n).fill(-1);
    this.flags = new Uint32Array(n);
    this.fpHead = new Uint32Array(n);
    this.evCount = new Uint16Array(n);
    this.endKind = new Uint8Array(n);
    this.reqN = new Uint8Array(n);
    this.supN = new Uint8Array(n);
  }

  private growTo(n: number): void {
    this.recvAt = grow(this.recvAt, n);
    this.recvFp = grow(this.recvFp, n);
    this.dueAt = grow(this.dueAt, n);
    this.endAt = grow(this.endAt, n);
    this.lastAt = grow(this.lastAt, n);
    this.req1 = grow(this.req1, n);
    this.sup1 = grow(this.sup1, n);
    this.feeAt = grow(this.feeAt, n);
    this.rateAt = grow(this.rateAt, n);
    const combo = grow(this.combo, n);
    combo.fill(-1, this.capacity);
    this.combo = combo;
    this.flags = grow(this.flags, n);
    this.fpHead = grow(this.fpHead, n);
    this.evCount = grow(this.evCount, n);
    this.endKind = grow(this.endKind, n);
    this.reqN = grow(this.reqN, n);
    this.supN = grow(this.supN, n);
    this.capacity = n;
  }

  /** Slot of `code`, allocating a fresh one when unseen. */
  slot(code: string): number {
    const h = codeHash(code);
    const found = this.index.find(code, h, this.codes);
    if (found >= 0) return found;
    let idx = this.freeSlots.pop();
    if (idx === undefined) {
      idx = this.highWater++;
      if (idx >= this.capacity) this.growTo(Math.ceil(this.capacity * 1.5));
    }
    this.codes[idx] = code;
    this.index.insert(h, idx);
    this.live++;
    return idx;
  }

  getRare(idx: number): Rare {
    let r = this.rare.get(idx);
    if (r === undefined) {
      r = {};
      this.rare.set(idx, r);
      this.flags[idx] = (this.flags[idx] as number) | F_RARE;
    }
    return r;
  }

  /** Forgets a dossier entirely (its contributions to windows stay counted). */
  evict(idx: number): void {
    const code = this.codes[idx];
    if (code === undefined) return;
    this.index.delete(codeHash(code), idx);
    this.codes[idx] = undefined;
    this.fps.free(this.fpHead[idx] as number);
    this.rare.delete(idx);
    this.clearSlot(idx);
    this.freeSlots.push(idx);
    this.live--;
  }

  private clearSlot(idx: number): void {
    this.recvAt[idx] = 0;
    this.recvFp[idx] = 0;
    this.dueAt[idx] = 0;
    this.endAt[idx] = 0;
    this.lastAt[idx] = 0;
    this.req1[idx] = 0;
    this.sup1[idx] = 0;
    this.feeAt[idx] = 0;
    this.rateAt[idx] = 0;
    this.combo[idx] = -1;
    this.flags[idx] = 0;
    this.fpHead[idx] = 0;
    this.evCount[idx] = 0;
    this.endKind[idx] = 0;
    this.reqN[idx] = 0;
    this.supN[idx] = 0;
  }

  /** Rebuilds the free list and index after a restore (slots with no code are free). */
  rebuildIndex(): void {
    this.index.clear();
    this.freeSlots = [];
    this.live = 0;
    for (let i = this.highWater - 1; i >= 0; i--) {
      const code = this.codes[i];
      if (code === undefined) this.freeSlots.push(i);
      else {
        this.index.insert(codeHash(code), i);
        this.live++;
      }
    }
  }

  /** The typed arrays in a fixed order, for the snapshot. */
  arrays(): (Uint32Array | Int32Array | Uint16Array | Uint8Array)[] {
    return [this.recvAt, this.recvFp, this.dueAt, this.endAt, this.lastAt, this.req1, this.sup1, this.feeAt, this.rateAt, this.combo, this.flags, this.fpHead, this.evCount, this.endKind, this.reqN, this.supN];
  }

  setArrays(a: (Uint32Array | Int32Array | Uint16Array | Uint8Array)[], capacity: number): void {
    const u32 = (i: number): Uint32Array => a[i] as Uint32Array;
    this.recvAt = u32(0);
    this.recvFp = u32(1);
    this.dueAt = u32(2);
    this.endAt = u32(3);
    this.lastAt = u32(4);
    this.req1 = u32(5);
    this.sup1 = u32(6);
    this.feeAt = u32(7);
    this.rateAt = u32(8);
    this.combo = a[9] as Int32Array;
    this.flags = u32(10);
    this.fpHead = u32(11);
    this.evCount = a[12] as Uint16Array;
    this.endKind = a[13] as Uint8Array;
    this.reqN = a[14] as Uint8Array;
    this.supN = a[15] as Uint8Array;
    this.capacity = capacity;
  }

}
