/**
 * Compact per-dossier state, one row of ROW (16) Uint32 fields per interned dossier slot, all rows in one
 * Uint32Array. The goal is ≤ 300 bytes of heap per open dossier at a million open dossiers, so the common
 * fields live in that array (64 bytes per slot), event fingerprints in a shared chunk pool, and only
 * uncommon facts (a second supplement round, late digitization, withdrawal, extensions) in a side map of
 * small objects.
 *
 * Why rows rather than one typed array per field (the layout until snapshot format 1): an event touches
 * a dozen of a dossier's fields, and with one array per field each of them was a cache line of its own;
 * a row is one or two lines. Access: `s.d[idx * ROW + D_FLAGS]`.
 *
 * Times are whole seconds since the epoch (good until 2106); 0 means "absent". D_COMBO holds an Int32
 * (-1 = none) in its Uint32 field: read it back with `| 0`.
 */
import { CodeIndex, codeHash } from './code-index.js';
import { SourceFingerprints } from './hash.js';

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

// Field offsets within a dossier's row (part of the snapshot format, version 2).
export const D_RECV_AT = 0;
export const D_RECV_FP = 1;
export const D_DUE_AT = 2;
export const D_END_AT = 3;
/** Latest event time seen (orphan eviction). */
export const D_LAST_AT = 4;
export const D_REQ1 = 5;
export const D_SUP1 = 6;
export const D_FEE_AT = 7;
export const D_RATE_AT = 8;
/** Int32 combo id, -1 until received (read with `| 0`). */
export const D_COMBO = 9;
export const D_FLAGS = 10;
export const D_FP_HEAD = 11;
/** Events applied, capped at 0xffff. */
export const D_EV_COUNT = 12;
export const D_END_KIND = 13;
/** Supplement requests / supplies seen, capped at 255. */
export const D_REQ_N = 14;
export const D_SUP_N = 15;
/** Uint32 fields per dossier row (64 bytes). */
export const ROW = 16;

/** D_COMBO of a slot not received: -1 as a Uint32. */
export const NO_COMBO = 0xffff_ffff;

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

export class DossierStore {
  capacity: number;
  /** Slots ever used; slots below it are live unless on the free list. */
  highWater = 0;
  live = 0;
  private freeSlots: number[] = [];
  private readonly index: CodeIndex;
  codes: (string | undefined)[] = [];
  /** ROW fields per slot (see the D_* offsets). */
  d: Uint32Array;
  readonly rare = new Map<number, Rare>();
  readonly fps = new FingerprintPool();
  /** Event fingerprints of (source, id) per slot, reusing the hash of a slot's repeated source. */
  readonly sources = new SourceFingerprints();

  constructor(initialCapacity = 1024) {
    const n = Math.max(16, initialCapacity);
    this.capacity = n;
    this.index = new CodeIndex(n);
    this.d = new Uint32Array(n * ROW);
    for (let i = 0; i < n; i++) this.d[i * ROW + D_COMBO] = NO_COMBO;
  }

  private growTo(n: number): void {
    const next = new Uint32Array(n * ROW);
    next.set(this.d);
    for (let i = this.capacity; i < n; i++) next[i * ROW + D_COMBO] = NO_COMBO;
    this.d = next;
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
      this.d[idx * ROW + D_FLAGS] = (this.d[idx * ROW + D_FLAGS] as number) | F_RARE;
    }
    return r;
  }

  /** Forgets a dossier entirely (its contributions to windows stay counted). */
  evict(idx: number): void {
    const code = this.codes[idx];
    if (code === undefined) return;
    this.index.delete(codeHash(code), idx);
    this.codes[idx] = undefined;
    this.fps.free(this.d[idx * ROW + D_FP_HEAD] as number);
    this.rare.delete(idx);
    this.clearSlot(idx);
    this.freeSlots.push(idx);
    this.live--;
  }

  private clearSlot(idx: number): void {
    const o = idx * ROW;
    this.d.fill(0, o, o + ROW);
    this.d[o + D_COMBO] = NO_COMBO;
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

  /** Replaces the rows (a restored snapshot's), `capacity` slots of ROW fields. */
  setRows(d: Uint32Array, capacity: number): void {
    this.d = d;
    this.capacity = capacity;
  }
}
