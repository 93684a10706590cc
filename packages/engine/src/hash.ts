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

export function hashCode(s: string): number {
  const h = mix(OFFSET, s) >>> 0;
  return h === 0 ? 1 : h;
}
