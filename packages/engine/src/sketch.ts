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

/** A packed array of n zeros (small-integer elements; cheaper to allocate than a typed array). */
function zeros(n: number): number[] {
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(0);
  return a;
}

export class Sketch {
  zeroCount = 0;
  count = 0;
  /** Key of bins[0]. */
  offset = 0;
  bins: number[] = [];

  /** Adds `weight` (may be negative, to retract) observations of `value`. */
  add(value: number, weight: number): void {
    if (value < MIN_POSITIVE) {
      this.count += weight;
      this.zeroCount += weight;
      return;
    }
    this.addKeyCounted(sketchKey(value), weight);
  }

  /** Key of `value` in this mapping, or NaN for values counted as zero. */
  static keyOf(value: number): number {
    return value < MIN_POSITIVE ? NaN : sketchKey(value);
  }

  /** Adds with a key from Sketch.keyOf (NaN = zero value). */
  addPrecomputed(key: number, weight: number): void {
    if (Number.isNaN(key)) {
      this.count += weight;
      this.zeroCount += weight;
      return;
    }
    this.addKeyCounted(key, weight);
  }

  /** Adds `weight` observations at `key` (see sketchKey); callers adding one value to many sketches compute the key once. */
  addKeyCounted(key: number, weight: number): void {
    this.count += weight;
    this.addKey(key, weight);
  }

  addKey(key: number, weight: number): void {
    let i = key - this.offset;
    if (i < 0 || i >= this.bins.length) {
      this.grow(key);
      i = key - this.offset;
    }
    this.bins[i] = (this.bins[i] as number) + weight;
  }

  private grow(key: number): void {
    const n = this.bins.length;
    if (n === 0) {
      // ±16 keys ≈ ±37 % around the first value, where most of a cell's values fall.
      this.bins = zeros(32);
      this.offset = key - 16;
      return;
    }
    const lo = Math.min(this.offset, key);
    const hi = Math.max(this.offset + n - 1, key);
    // Grow with slack on the side that moved (at least doubling), so a drifting range reallocates rarely.
    const slack = Math.max(16, n);
    const newLo = key < this.offset ? lo - slack : lo;
    const newHi = key > this.offset + n - 1 ? hi + slack : hi;
    const next = zeros(newHi - newLo + 1);
    const shift = this.offset - newLo;
    for (let i = 0; i < n; i++) next[i + shift] = this.bins[i] as number;
    this.bins = next;
    this.offset = newLo;
  }

  /** Adds every bin of `other` into this sketch, scaled by `sign` (1 or -1). */
  merge(other: Sketch, sign = 1): void {
    this.count += sign * other.count;
    this.zeroCount += sign * other.zeroCount;
    const b = other.bins;
    for (let i = 0; i < b.length; i++) {
      const c = b[i] as number;
      if (c !== 0) this.addKey(other.offset + i, sign * c);
    }
  }

  clone(): Sketch {
    const s = new Sketch();
    s.zeroCount = this.zeroCount;
    s.count = this.count;
    s.offset = this.offset;
    s.bins = this.bins.slice();
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
    for (let i = 0; i < this.bins.length; i++) {
      const c = this.bins[i] as number;
      if (c === 0) continue;
      running += c;
      lastKey = this.offset + i;
      if (running > target) return sketchKeyValue(lastKey);
    }
    return Number.isNaN(lastKey) ? NaN : sketchKeyValue(lastKey);
  }

  isEmpty(): boolean {
    if (this.count !== 0 || this.zeroCount !== 0) return false;
    for (let i = 0; i < this.bins.length; i++) if (this.bins[i] !== 0) return false;
    return true;
  }

  /** Non-zero bins as [key, count] pairs in key order; the canonical content used by equality checks. */
  entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.bins.length; i++) {
      const c = this.bins[i] as number;
      if (c !== 0) out.push([this.offset + i, c]);
    }
    return out;
  }
}
