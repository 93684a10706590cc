/**
 * A DDSketch (Masson, Rim, Lee, VLDB 2019) with the logarithmic key mapping of @datadog/sketches-js at
 * relative accuracy 0.01, but with *signed* bin counts and a compact integer store.
 *
 * Why not the library's DDSketch object directly: (1) a dossier's processing time can change after it was
 * counted (a supplement round or an earlier `resolved` arrives late), so the engine must *retract* a value,
 * and the library refuses weights ≤ 0; (2) the engine keeps one sketch per (window × scope) cell — thousands
 * of them — and the library's store starts at 128 float bins; (3) integer counts make merge exact, hence
 * associative and commutative bit for bit. The key mapping and the quantile walk are the library's, so
 * results are identical to it (sketch.test.ts checks that against @datadog/sketches-js itself).
 *
 * Values are non-negative (processing seconds); values below MIN_POSITIVE count as zero.
 */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA_MANTISSA = (2 * RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const GAMMA = 1 + GAMMA_MANTISSA;
// LogarithmicMapping: key = ceil(log2(v) * multiplier), multiplier = ln 2 / ln(gamma).
const MULTIPLIER = Math.LN2 / Math.log1p(GAMMA_MANTISSA);
const VALUE_SCALE = 2 / (1 + GAMMA);
const MIN_POSITIVE = Math.pow(2, -1023) * GAMMA;

export function sketchKey(value: number): number {
  return Math.ceil(Math.log2(value) * MULTIPLIER);
}

export function sketchKeyValue(key: number): number {
  return Math.pow(2, key / MULTIPLIER) * VALUE_SCALE;
}

/**
 * An array of n zeros (small-integer elements; cheaper to allocate than a typed array), allocated at its
 * final length: filling an empty array by push re-allocated it a dozen times on the way to a few hundred.
 */
function zeros(n: number): number[] {
  const a = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = 0;
  return a;
}

/** Never written to: the lists of a sketch with no key yet. */
const NONE: number[] = [];

/** Distinct keys kept as a sorted list before switching to a dense array over the key range. */
const SPARSE_MAX = 24;

/**
 * Store: most cells (a procedure on one day, one minute) see a handful of values spread over a wide key
 * range, so a store starts *sparse* (sorted keys with their counts) and turns *dense* (one count per key
 * from `offset`) once it holds more than SPARSE_MAX distinct keys, where lookups must be O(1).
 */
export class Sketch {
  zeroCount = 0;
  count = 0;
  // Shared empty lists until the first key: most cells' sketches stay small, many stay empty.
  private keys: number[] = NONE;
  private counts: number[] = NONE;
  private dense: number[] | null = null;
  private offset = 0;

  /**
   * A sketch holding exactly `counts[j]` at `keys[j]` for j < n, with the given totals (count includes
   * zeroCount, as after addPrecomputed). Keys must be strictly ascending; zero counts are dropped. Builds
   * the final store in one pass (sparse up to SPARSE_MAX keys, else dense with the slack toDense leaves)
   * instead of n addPrecomputed calls, which would re-shift the sorted lists and re-grow the dense array.
   */
  static fromSorted(keys: ArrayLike<number>, counts: ArrayLike<number>, n: number, count: number, zeroCount: number): Sketch {
    const s = new Sketch();
    s.count = count;
    s.zeroCount = zeroCount;
    let kept = 0;
    for (let j = 0; j < n; j++) {
      if (j > 0 && !((keys[j] as number) > (keys[j - 1] as number))) throw new RangeError('Sketch.fromSorted: keys must be strictly ascending');
      if (counts[j] !== 0) kept++;
    }
    if (kept === 0) return s;
    if (kept <= SPARSE_MAX) {
      const ks = new Array<number>(kept);
      const cs = new Array<number>(kept);
      let i = 0;
      for (let j = 0; j < n; j++) {
        const c = counts[j] as number;
        if (c === 0) continue;
        ks[i] = keys[j] as number;
        cs[i++] = c;
      }
      s.keys = ks;
      s.counts = cs;
      return s;
    }
    let lo = NaN;
    let hi = NaN;
    for (let j = 0; j < n; j++) {
      if (counts[j] === 0) continue;
      if (Number.isNaN(lo)) lo = keys[j] as number;
      hi = keys[j] as number;
    }
    const slack = Math.max(8, hi - lo + 1) >> 1;
    const d = zeros(hi - lo + 1 + 2 * slack);
    for (let j = 0; j < n; j++) {
      const c = counts[j] as number;
      if (c !== 0) d[(keys[j] as number) - lo + slack] = c;
    }
    s.dense = d;
    s.offset = lo - slack;
    return s;
  }

  /**
   * A dense sketch holding counts[from + i] at key firstKey + i for i < length (zeros allowed), with the given
   * totals. One copy into the dense array, for a source that already holds a contiguous count range (a
   * SketchTable's dense store): cheaper than listing its keys for fromSorted.
   */
  static fromDense(counts: ArrayLike<number>, from: number, length: number, firstKey: number, count: number, zeroCount: number): Sketch {
    const s = new Sketch();
    s.count = count;
    s.zeroCount = zeroCount;
    if (length <= 0) return s;
    const d = new Array<number>(length);
    for (let i = 0; i < length; i++) d[i] = counts[from + i] as number;
    s.dense = d;
    s.offset = firstKey;
    return s;
  }

  /** Adds `weight` (may be negative, to retract) observations of `value`. */
  add(value: number, weight: number): void {
    this.addPrecomputed(Sketch.keyOf(value), weight);
  }

  /** Key of `value` in this mapping, or NaN for values counted as zero. */
  static keyOf(value: number): number {
    return value < MIN_POSITIVE ? NaN : sketchKey(value);
  }

  /** Adds with a key from Sketch.keyOf (NaN = zero value); callers adding one value to many sketches compute the key once. */
  addPrecomputed(key: number, weight: number): void {
    this.count += weight;
    if (Number.isNaN(key)) this.zeroCount += weight;
    else this.addKey(key, weight);
  }

  /** Adds `weight` at `key` without touching count (merge keeps counts itself). */
  private addKey(key: number, weight: number): void {
    const d = this.dense;
    if (d !== null) {
      let i = key - this.offset;
      if (i < 0 || i >= d.length) {
        this.growDense(key);
        i = key - this.offset;
      }
      const dd = this.dense as number[];
      dd[i] = (dd[i] as number) + weight;
      return;
    }
    const ks = this.keys;
    let lo = 0;
    let hi = ks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((ks[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < ks.length && ks[lo] === key) {
      this.counts[lo] = (this.counts[lo] as number) + weight;
      return;
    }
    if (ks.length >= SPARSE_MAX) {
      this.toDense();
      this.addKey(key, weight);
      return;
    }
    if (ks === NONE) {
      this.keys = [key];
      this.counts = [weight];
      return;
    }
    // Insert at lo by shifting (splice would allocate the removed-elements array).
    const cs = this.counts;
    ks.push(0);
    cs.push(0);
    for (let j = ks.length - 1; j > lo; j--) {
      ks[j] = ks[j - 1] as number;
      cs[j] = cs[j - 1] as number;
    }
    ks[lo] = key;
    cs[lo] = weight;
  }

  private toDense(): void {
    const ks = this.keys;
    const lo = ks[0] as number;
    const hi = ks[ks.length - 1] as number;
    // Slack on both sides, as growDense leaves: the keys seen so far rarely span the range still to come.
    const slack = Math.max(8, hi - lo + 1) >> 1;
    const d = zeros(hi - lo + 1 + 2 * slack);
    for (let j = 0; j < ks.length; j++) d[(ks[j] as number) - lo + slack] = this.counts[j] as number;
    this.dense = d;
    this.offset = lo - slack;
    this.keys = NONE;
    this.counts = NONE;
  }

  private growDense(key: number): void {
    const d = this.dense as number[];
    const n = d.length;
    const lo = Math.min(this.offset, key);
    const hi = Math.max(this.offset + n - 1, key);
    // Grow with slack on the side that moved (at least doubling), so a drifting range reallocates rarely.
    const slack = Math.max(8, n);
    const newLo = key < this.offset ? lo - slack : lo;
    const newHi = key > this.offset + n - 1 ? hi + slack : hi;
    const next = zeros(newHi - newLo + 1);
    const shift = this.offset - newLo;
    for (let i = 0; i < n; i++) next[i + shift] = d[i] as number;
    this.dense = next;
    this.offset = newLo;
  }

  /** Calls fn(key, count) for every key with a non-zero count, in key order. */
  forEach(fn: (key: number, count: number) => void): void {
    const d = this.dense;
    if (d !== null) {
      for (let i = 0; i < d.length; i++) if (d[i] !== 0) fn(this.offset + i, d[i] as number);
      return;
    }
    for (let j = 0; j < this.keys.length; j++) if (this.counts[j] !== 0) fn(this.keys[j] as number, this.counts[j] as number);
  }

  /** Adds every key of `other` into this sketch, scaled by `sign` (1 or -1). */
  merge(other: Sketch, sign = 1): void {
    this.count += sign * other.count;
    this.zeroCount += sign * other.zeroCount;
    other.forEach((k, c) => this.addKey(k, sign * c));
  }

  clone(): Sketch {
    const s = new Sketch();
    s.zeroCount = this.zeroCount;
    s.count = this.count;
    s.keys = this.keys === NONE ? NONE : this.keys.slice();
    s.counts = this.counts === NONE ? NONE : this.counts.slice();
    s.dense = this.dense === null ? null : this.dense.slice();
    s.offset = this.offset;
    return s;
  }

  /** Value at quantile q in [0, 1], NaN when empty; same rank rule as @datadog/sketches-js. */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1) || this.count <= 0) return NaN;
    const rank = q * (this.count - 1);
    if (rank < this.zeroCount) return 0;
    const target = rank - this.zeroCount;
    let running = 0;
    let lastKey = NaN;
    let found = NaN;
    this.forEach((k, c) => {
      if (!Number.isNaN(found)) return;
      running += c;
      lastKey = k;
      if (running > target) found = k;
    });
    const key = Number.isNaN(found) ? lastKey : found;
    return Number.isNaN(key) ? NaN : sketchKeyValue(key);
  }

  isEmpty(): boolean {
    if (this.count !== 0 || this.zeroCount !== 0) return false;
    let empty = true;
    this.forEach(() => {
      empty = false;
    });
    return empty;
  }

  /** Non-zero keys as [key, count] pairs in key order; the canonical content used by equality checks. */
  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    this.forEach((k, c) => out.push([k, c]));
    return out;
  }
}
