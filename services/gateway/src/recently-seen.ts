import { randomFillSync } from 'node:crypto';
import type { Clock } from './clock.js';

export interface RecentlySeenOptions {
  /** How long a (source, id) is remembered. */
  windowMs: number;
  /** Upper bound on remembered keys; past it the oldest are forgotten early. */
  maxEntries: number;
}

const MIN_SLOTS = 1024;

/**
 * A bounded set of recently acknowledged dedup keys. Downstream consumers dedupe by (source, id) anyway;
 * this only spares Kafka the second write of a retry.
 *
 * Keys are remembered in insertion order, which is time order, so the oldest are always at the front:
 * forgetting is a walk from the front that stops at the first key still inside the window. A key seen
 * again moves to the back (its old entry is left dead in place).
 *
 * It was a Map<string, number>; with a few hundred thousand keys every lookup of a new key — one per
 * event — walked a bucket chain through entries and key strings scattered over the heap: ~0.5 µs, the
 * gateway's largest single cost after parsing and encoding. Here the entries are kept in a ring of
 * parallel arrays, and the index is open addressing over one Int32Array of (hash, entry) pairs: a lookup
 * of a new key reads one or two adjacent slots, and a key string only when its hash matches. The hash
 * is keyed by a random table drawn per instance, so clients cannot choose ids that collide.
 */
export class RecentlySeen {
  /** The ring: entry e at position e & ringMask; keys[p] is undefined for a dead entry. */
  private keys: (string | undefined)[] = [];
  private times = new Float64Array(0);
  private hashes = new Int32Array(0);
  private ringMask = -1;
  /** Oldest entry and one past the newest, as positions that only grow (taken modulo the ring's size). */
  private head = 0;
  private tail = 0;
  private live = 0;
  private dead = 0;
  /** Index: slots[2i] the hash, slots[2i + 1] the ring position + 1; 0 empty, -1 deleted. */
  private slots = new Int32Array(2 * MIN_SLOTS);
  private slotMask = MIN_SLOTS - 1;
  /** Slots not empty (live or deleted): past half of them the index is rebuilt. */
  private used = 0;
  private readonly table = new Int32Array(256);
  /**
   * No entry expires before this time (the oldest one's expiry, as of the last walk): until then an insert
   * under maxEntries has nothing to forget, and skips the walk.
   */
  private nextExpiry = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly options: RecentlySeenOptions,
  ) {
    randomFillSync(this.table);
    this.growRing(MIN_SLOTS);
  }

  has(key: string): boolean {
    const slot = this.find(key, this.hash(key));
    if (slot < 0) return false;
    return (this.times[(this.slots[2 * slot + 1] as number) - 1] as number) > this.clock.now() - this.options.windowMs;
  }

  add(key: string): void {
    this.addAll([key]);
  }

  /** Remembers keys acknowledged together (one clock reading, one walk). */
  addAll(keys: readonly string[]): void {
    if (keys.length === 0) return;
    const now = this.clock.now();
    for (const key of keys) this.insert(key, now);
    if (now >= this.nextExpiry || this.live > this.options.maxEntries) this.forget(now);
  }

  get size(): number {
    return this.live;
  }

  /** A 32-bit hash of the key's UTF-16 code units through the instance's random table. */
  private hash(key: string): number {
    const t = this.table;
    let h = key.length;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h = Math.imul(h ^ (t[c & 0xff] as number) ^ (c >>> 8), 0x01000193);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h;
  }

  /** The slot holding key, or -1. */
  private find(key: string, h: number): number {
    const slots = this.slots;
    const mask = this.slotMask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const entry = slots[2 * i + 1] as number;
      if (entry === 0) return -1;
      if (entry > 0 && slots[2 * i] === h && this.keys[entry - 1] === key) return i;
    }
  }

  private insert(key: string, now: number): void {
    // Before any slot is taken: growing moves the entries, and so rebuilds the index.
    if (this.tail - this.head > this.ringMask) this.growRing(2 * (this.ringMask + 1));
    const h = this.hash(key);
    let slot = this.find(key, h);
    if (slot >= 0) {
      // Seen before: the old entry dies, a new one goes to the back, keeping the ring in time order.
      this.keys[(this.slots[2 * slot + 1] as number) - 1] = undefined;
      this.live--;
      this.dead++;
    } else {
      slot = this.freeSlot(h);
      if (this.slots[2 * slot + 1] === 0) this.used++;
    }
    const at = this.tail & this.ringMask;
    this.keys[at] = key;
    this.times[at] = now;
    this.hashes[at] = h;
    this.tail++;
    this.live++;
    this.slots[2 * slot] = h;
    this.slots[2 * slot + 1] = at + 1;
    if (2 * this.used > this.slotMask + 1) this.rebuildIndex();
    else if (this.dead > 1024 && this.dead > this.live) this.compact();
  }

  /** The first empty or deleted slot of h's probe sequence. */
  private freeSlot(h: number): number {
    const slots = this.slots;
    const mask = this.slotMask;
    let i = h & mask;
    while ((slots[2 * i + 1] as number) > 0) i = (i + 1) & mask;
    return i;
  }

  private forget(now: number): void {
    const cutoff = now - this.options.windowMs;
    while (this.head < this.tail) {
      const at = this.head & this.ringMask;
      const key = this.keys[at];
      if (key === undefined) {
        this.dead--;
        this.head++;
        continue;
      }
      const seenAt = this.times[at] as number;
      if (seenAt > cutoff && this.live <= this.options.maxEntries) {
        this.nextExpiry = seenAt + this.options.windowMs;
        return;
      }
      this.slots[2 * this.find(key, this.hashes[at] as number) + 1] = -1;
      this.keys[at] = undefined;
      this.live--;
      this.head++;
    }
    this.nextExpiry = Number.NEGATIVE_INFINITY;
  }

  /** A ring of `size` positions (a power of two) holding the live and dead entries in order. */
  private growRing(size: number): void {
    const keys: (string | undefined)[] = new Array(size).fill(undefined);
    const times = new Float64Array(size);
    const hashes = new Int32Array(size);
    const count = this.tail - this.head;
    for (let i = 0; i < count; i++) {
      const from = (this.head + i) & this.ringMask;
      keys[i] = this.keys[from];
      times[i] = this.times[from] as number;
      hashes[i] = this.hashes[from] as number;
    }
    this.keys = keys;
    this.times = times;
    this.hashes = hashes;
    this.ringMask = size - 1;
    this.head = 0;
    this.tail = count;
    // Positions moved: the index points at the new ones.
    this.rebuildIndex();
  }

  /** Drops the dead entries from the ring, keeping the live ones in order. */
  private compact(): void {
    let to = this.head;
    for (let from = this.head; from < this.tail; from++) {
      const at = from & this.ringMask;
      const key = this.keys[at];
      if (key === undefined) continue;
      const dest = to & this.ringMask;
      this.keys[dest] = key;
      this.times[dest] = this.times[at] as number;
      this.hashes[dest] = this.hashes[at] as number;
      to++;
    }
    for (let p = to; p < this.tail; p++) this.keys[p & this.ringMask] = undefined;
    this.tail = to;
    this.dead = 0;
    this.rebuildIndex();
  }

  /** A fresh index for the live entries, sized for twice their number at most half full. */
  private rebuildIndex(): void {
    let size = MIN_SLOTS;
    while (size < 4 * this.live) size *= 2;
    const slots = new Int32Array(2 * size);
    const mask = size - 1;
    for (let p = this.head; p < this.tail; p++) {
      const at = p & this.ringMask;
      if (this.keys[at] === undefined) continue;
      const h = this.hashes[at] as number;
      let i = h & mask;
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
      slots[2 * i] = h;
      slots[2 * i + 1] = at + 1;
    }
    this.slots = slots;
    this.slotMask = mask;
    this.used = this.live;
  }
}
