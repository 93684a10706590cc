/**
 * 32-bit FNV-1a (http://www.isthe.com/chongo/tech/comp/fnv/) over UTF-16 code units. Used for event
 * fingerprints (dedup by (source, id) within one dossier) and component codes. Never 0, so 0 can mean
 * "empty slot". Part of the snapshot format: changing it invalidates checkpoints.
 *
 * Collision risk: a dossier that has seen k events mistakes a new, distinct event for a duplicate with
 * probability ≈ k / 2^32 (≈ 2 × 10⁻⁹ at k = 10), i.e. about one event in a few hundred million.
 */
const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;

function mix(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, PRIME);
  }
  return h;
}

export function fingerprint(a: string, b: string): number {
  // 0x1f cannot appear in a source (no control characters) so (a, b) ↦ a␟b is unambiguous.
  let h = mix(OFFSET, a);
  h = Math.imul(h ^ 0x1f, PRIME);
  h = mix(h, b) >>> 0;
  return h === 0 ? 1 : h;
}

/** FNV-1a state after `source␟`: what fingerprint(source, id) continues from with the id. */
function sourceState(source: string): number {
  return Math.imul(mix(OFFSET, source) ^ 0x1f, PRIME);
}

/**
 * fingerprint(source, id) for the events of dossier slots, hashing the source only when it differs from the
 * source of the slot's previous event: an agency sends all of a dossier's events, so the FNV state after
 * `source␟` is looked up (per slot: the index of its last source) and confirmed by string equality, which is
 * cheaper than the ~25 charCodeAt steps of hashing it again. The result is exactly fingerprint(source, id);
 * the hints are a cache (never in snapshots), so a stale or missing one only costs the full hash.
 */
export class SourceFingerprints {
  /** Distinct sources seen (index 0 unused: hint 0 means none), and the FNV state after each. */
  private readonly sources: string[] = [''];
  private readonly states: number[] = [0];
  private readonly indexOf = new Map<string, number>();
  /** Per slot: index of the source of its latest event, 0 = none. */
  private hints = new Uint16Array(1024);

  /** At most `maxSources` distinct sources are remembered (a stream of ever-new sources stops caching). */
  constructor(private readonly maxSources = 0xffff) {}

  fingerprint(slot: number, source: string, id: string): number {
    let hints = this.hints;
    const k = slot < hints.length ? (hints[slot] as number) : 0;
    let h: number;
    if (k !== 0 && this.sources[k] === source) h = this.states[k] as number;
    else {
      h = sourceState(source);
      if (slot >= hints.length) {
        const next = new Uint16Array(Math.max(slot + 1, hints.length * 2));
        next.set(hints);
        this.hints = hints = next;
      }
      hints[slot] = this.remember(source, h);
    }
    h = mix(h, id) >>> 0;
    return h === 0 ? 1 : h;
  }

  /** Index of `source` (whose state is h), adding it while there is room; 0 when there is none. */
  private remember(source: string, h: number): number {
    let k = this.indexOf.get(source);
    if (k === undefined) {
      if (this.sources.length > this.maxSources) return 0;
      k = this.sources.length;
      this.sources.push(source);
      this.states.push(h);
      this.indexOf.set(source, k);
    }
    return k;
  }
}

export function hashCode(s: string): number {
  const h = mix(OFFSET, s) >>> 0;
  return h === 0 ? 1 : h;
}
