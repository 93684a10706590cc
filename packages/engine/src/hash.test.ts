import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SourceFingerprints, fingerprint } from './hash.js';

const RUNS = Number(process.env.IOCBUS_PROPERTY_RUNS ?? 100);

test('fingerprint is 32-bit FNV-1a of source␟id (the values stored in snapshots)', () => {
  // Reference values computed by hand from the FNV-1a definition; a change here invalidates checkpoints.
  const fnv = (s: string): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
  };
  for (const [a, b] of [['/agencies/H21.215/igate', '0000002a-0001-4000-8000-0000000200'], ['', ''], ['nguồn', 'mã-Đ']] as const) {
    assert.equal(fingerprint(a, b), fnv(`${a}\u001f${b}`) || 1);
  }
});

/**
 * The per-slot source hints against fingerprint() on random sequences: slots change source, share sources,
 * lie beyond the hint array's first size, and the source table may be full (maxSources 2).
 */
test('SourceFingerprints.fingerprint(slot, source, id) always equals fingerprint(source, id)', () => {
  const sources = ['/agencies/H21.215/igate', '/agencies/H21.216/igate', '/agencies/H21.21/igate', 'nguồn-Đ', ''];
  const call = fc.tuple(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1000, max: 5000 })), fc.integer({ min: 0, max: sources.length - 1 }), fc.string({ maxLength: 40 }));
  fc.assert(
    fc.property(fc.array(call, { maxLength: 300 }), fc.constantFrom(2, 0xffff), (calls, maxSources) => {
      const f = new SourceFingerprints(maxSources);
      for (const [slot, s, id] of calls) {
        // A fresh string object per event, as decoded events bring them.
        const source = `${sources[s] as string}#`.slice(0, -1);
        assert.equal(f.fingerprint(slot, source, id), fingerprint(source, id), `${slot} ${source} ${id}`);
      }
    }),
    { numRuns: RUNS * 5 },
  );
});
