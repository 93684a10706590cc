import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { arbitraryTimestamp } from './arbitraries.js';
import { isRfc3339, rfc3339Problem, toEpochMs } from './time.js';

test('accepts RFC 3339 timestamps with an offset', () => {
  for (const s of ['2025-07-01T08:30:00+07:00', '2025-07-01T01:30:00Z', '2025-07-01t01:30:00.123456789z', '2024-02-29T00:00:00-00:00', '1999-12-31T23:59:59.5-11:30']) {
    assert.equal(rfc3339Problem(s), undefined, s);
  }
});

test('rejects timestamps without an offset, out-of-range parts and other forms, saying why', () => {
  const cases: [string, RegExp][] = [
    ['2025-07-01T08:30:00', /no UTC offset/],
    ['2025-07-01 08:30:00', /no UTC offset/],
    ['2025-07-01T08:30', /no UTC offset/],
    ['2025-07-01', /not in RFC 3339 form/],
    ['1719800000', /not in RFC 3339 form/],
    ['2025-13-01T00:00:00Z', /month/],
    ['2025-02-29T00:00:00Z', /day outside 01-28/],
    ['2025-04-31T00:00:00Z', /day outside 01-30/],
    ['2025-07-01T24:00:00Z', /hour/],
    ['2025-07-01T23:60:00Z', /minute/],
    ['2016-12-31T23:59:60Z', /second/],
    ['2025-07-01T08:30:00+24:00', /offset/],
    ['2025-07-01T08:30:00+0700', /not in RFC 3339 form/],
    ['2025-07-01T08:30:00.Z', /not in RFC 3339 form/],
  ];
  for (const [s, why] of cases) {
    const p = rfc3339Problem(s);
    assert.ok(p !== undefined && why.test(p), `${s}: ${p}`);
    assert.equal(isRfc3339(s), false);
  }
});

test('toEpochMs agrees with Date.parse on every valid timestamp (ms precision)', () => {
  fc.assert(
    fc.property(arbitraryTimestamp(), (s) => {
      // Date.parse wants an upper-case T/Z and at most millisecond digits to be unambiguous.
      const norm = s.toUpperCase().replace(/(\.\d{3})\d+/, '$1');
      assert.equal(toEpochMs(s), Date.parse(norm), s);
    }),
    { numRuns: 2000 },
  );
  assert.equal(toEpochMs('2025-07-01T08:30:00+07:00'), Date.UTC(2025, 6, 1, 1, 30));
  assert.equal(toEpochMs('0050-01-01T00:00:00Z'), -60589296000000); // not Date.UTC's 1950
});

test('toEpochMs returns NaN, never throws, on malformed input', () => {
  for (const s of ['', 'x', '2025-07-01T08:30:00', '2025-07-01T08:30:00+07', '2025-07-01T08:30:00Q', 'aaaa-bb-ccTdd:ee:ffZ']) {
    assert.ok(Number.isNaN(toEpochMs(s)), s);
  }
});

test('property: the fast isRfc3339 agrees with rfc3339Problem on valid and near-miss strings', () => {
  const nearMiss = fc
    .tuple(arbitraryTimestamp(), fc.nat(), fc.constantFrom(...'0123456789-:TtZz+. x'), fc.constantFrom('replace', 'insert', 'delete'))
    .map(([s, at, ch, op]) => {
      const i = at % (s.length + 1);
      if (op === 'replace') return s.slice(0, i) + ch + s.slice(i + 1);
      if (op === 'insert') return s.slice(0, i) + ch + s.slice(i);
      return s.slice(0, i) + s.slice(i + 1);
    });
  fc.assert(
    fc.property(fc.oneof(arbitraryTimestamp(), nearMiss, fc.string()), (s) => {
      assert.equal(isRfc3339(s), rfc3339Problem(s) === undefined, s);
    }),
    { numRuns: 5000 },
  );
});
