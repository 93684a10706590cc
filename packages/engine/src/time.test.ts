import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { WK, civilYearMonth, daysFromCivil, windowEnd, windowIndex, windowLabel, windowStart } from './time.js';

const sec = (iso: string): number => Date.parse(iso) / 1000;

test('day, month, quarter and year follow the Asia/Ho_Chi_Minh calendar (UTC+7, no DST)', () => {
  // 2025-03-31T17:30Z is 2025-04-01 00:30 in Hà Nội: already April, Q2.
  const t = sec('2025-03-31T17:30:00Z');
  assert.equal(windowLabel(WK.Day, windowIndex(WK.Day, t)), '2025-04-01');
  assert.equal(windowLabel(WK.Month, windowIndex(WK.Month, t)), '2025-04');
  assert.equal(windowLabel(WK.Quarter, windowIndex(WK.Quarter, t)), '2025-Q2');
  // One second earlier in local time than midnight: still March.
  const u = sec('2025-03-31T16:59:59Z');
  assert.equal(windowLabel(WK.Day, windowIndex(WK.Day, u)), '2025-03-31');
  assert.equal(windowLabel(WK.Quarter, windowIndex(WK.Quarter, u)), '2025-Q1');
  // New year's eve local: 2024-12-31T17:00Z = 2025-01-01 00:00 +07.
  assert.equal(windowLabel(WK.Year, windowIndex(WK.Year, sec('2024-12-31T17:00:00Z'))), '2025');
  assert.equal(windowLabel(WK.Year, windowIndex(WK.Year, sec('2024-12-31T16:59:59Z'))), '2024');
  assert.equal(windowLabel(WK.Minute, windowIndex(WK.Minute, sec('2025-03-31T17:30:59Z'))), '2025-04-01T00:30');
});

test('window starts are local midnights and windows tile time without gaps', () => {
  assert.equal(windowStart(WK.Month, windowIndex(WK.Month, sec('2024-02-15T00:00:00Z'))), sec('2024-02-01T00:00:00+07:00'));
  assert.equal(windowEnd(WK.Month, windowIndex(WK.Month, sec('2024-02-15T00:00:00Z'))), sec('2024-03-01T00:00:00+07:00'));
  assert.equal(windowStart(WK.Quarter, windowIndex(WK.Quarter, sec('2025-11-15T00:00:00Z'))), sec('2025-10-01T00:00:00+07:00'));
  fc.assert(
    fc.property(fc.integer({ min: sec('1990-01-01T00:00:00Z'), max: sec('2099-12-31T00:00:00Z') }), fc.constantFrom(WK.Minute, WK.Day, WK.Month, WK.Quarter, WK.Year), (t, kind) => {
      const i = windowIndex(kind, t);
      assert.ok(windowStart(kind, i) <= t && t < windowEnd(kind, i));
      assert.equal(windowEnd(kind, i), windowStart(kind, i + 1));
    }),
  );
});

test('civil date conversion round-trips and agrees with Date', () => {
  fc.assert(
    fc.property(fc.integer({ min: -100_000, max: 100_000 }), (days) => {
      const { y, m, d } = civilYearMonth(days);
      assert.equal(daysFromCivil(y, m, d), days);
      const js = new Date(days * 86_400_000);
      assert.deepEqual([y, m, d], [js.getUTCFullYear(), js.getUTCMonth() + 1, js.getUTCDate()]);
    }),
  );
});
