import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EngineDecodeError } from './errors.js';
import { M, MEASURE_COUNT } from './measures.js';
import { ComboTable } from './scopes.js';
import { Sketch } from './sketch.js';
import { WK } from './time.js';
import { Accumulator } from './windows.js';
import { canonical, engineAt, ev, ms } from './testkit.js';

function busyEngine() {
  const e = engineAt('2025-03-12 12:00');
  e.apply(ev.received('D1', '2025-03-10 08:00', { due: '2025-03-12 17:00', components: [{ code: 'A', digitized: false }] }));
  e.apply(ev.supplementRequested('D1', '2025-03-10 09:00'));
  e.apply(ev.supplementReceived('D1', '2025-03-10 10:00'));
  e.apply(ev.supplementRequested('D1', '2025-03-11 09:00'));
  e.apply(ev.deadlineExtended('D1', '2025-03-11 10:00', '2025-03-12 17:00', '2025-03-15 17:00'));
  e.apply(ev.received('D2', '2025-03-11 08:00', { due: '2025-03-12 17:00', channel: 'online' }));
  e.apply(ev.withdrawn('D3', '2025-03-11 08:00'));
  e.apply(ev.digitized('D4', '2025-03-11 08:00', ['X']));
  return e;
}

test('a restored engine continues exactly like the original: dedup, timers, side state', () => {
  const a = busyEngine();
  const b = engineAt('2000-01-01 00:00');
  b.restore(a.snapshot());
  assert.deepEqual(canonical(b.partials()), canonical(a.partials()));
  assert.equal(b.nowMs, a.nowMs);
  assert.deepEqual({ ...b.stats(), cells: 0 }, { ...a.stats(), cells: 0 });
  // Same continuation on both: a duplicate, the overdue timer of D2 firing, a supply closing D1's round.
  const dup = ev.received('D2', '2025-03-11 08:00', { due: '2025-03-12 17:00', channel: 'online', id: 'x' });
  for (const e of [a, b]) {
    e.apply(dup);
    assert.equal(e.apply({ ...dup }), false);
    e.apply(ev.supplementReceived('D1', '2025-03-12 09:00', { id: 'supply-2' }));
    e.apply(ev.received('D4', '2025-03-11 07:00', { due: '2025-03-20 17:00', components: [{ code: 'X', digitized: false }], id: 'r4' }));
    e.advance(ms('2025-03-13 12:00'));
  }
  assert.deepEqual(canonical(b.partials()), canonical(a.partials()));
  assert.ok(b.stats().open > 0);
});

test('snapshots are versioned; corrupt, truncated or foreign bytes are refused', () => {
  const bytes = busyEngine().snapshot();
  assert.deepEqual(Array.from(bytes.subarray(0, 5)), [0x49, 0x4f, 0x43, 0x53, 2]);
  const e = engineAt('2025-03-12 12:00');
  const refused = (b: Uint8Array, re: RegExp) =>
    assert.throws(() => e.restore(b), (err: unknown) => err instanceof EngineDecodeError && err.code === 'IOC_ENGINE_DECODE' && !err.retriable && re.test(err.message));
  refused(Uint8Array.from([0x49, 0x4f, 0x43, 0x53, 3, ...bytes.subarray(5)]), /version 3 is not supported/);
  refused(Uint8Array.from([0x49, 0x4f, 0x43, 0x53, 0, ...bytes.subarray(5)]), /version 0 is not supported/);
  refused(bytes.subarray(0, bytes.length - 7), /truncated|trailing|partial element|varint/);
  refused(Uint8Array.from([1, 2, 3, 4, 5]), /bad magic/);
});

test('a version-1 snapshot (one block per dossier field) restores into the same state as version 2', () => {
  // fixtures/snapshot-v1-busy.bin: busyEngine()'s snapshot as written by the engine at a1915eb (format 1).
  const v1 = new Uint8Array(readFileSync(new URL('./fixtures/snapshot-v1-busy.bin', import.meta.url)));
  assert.equal(v1[4], 1);
  const a = busyEngine();
  const b = engineAt('2000-01-01 00:00');
  b.restore(v1);
  assert.deepEqual(canonical(b.partials()), canonical(a.partials()));
  assert.deepEqual({ ...b.stats(), cells: 0 }, { ...a.stats(), cells: 0 });
  // The rows carry everything: dedup fingerprints, supplement rounds, D1's due time, and D2's, which the
  // rebuilt timer alone turns into "overdue" (nothing touches D2 after the restore).
  const dup = ev.withdrawn('D3', '2025-03-11 08:00', { id: 'x' });
  for (const e of [a, b]) {
    e.apply(dup);
    assert.equal(e.apply({ ...dup }), false);
    e.apply(ev.supplementReceived('D1', '2025-03-12 09:00', { id: 'supply-2' }));
    e.apply(ev.resolved('D1', '2025-03-13 09:00'));
    e.advance(ms('2025-03-13 12:00'));
  }
  assert.deepEqual(canonical(b.partials()), canonical(a.partials()));
  // Written again, it is version 2 and restores to the same partials.
  const v2 = b.snapshot();
  assert.equal(v2[4], 2);
  const c = engineAt('2000-01-01 00:00');
  c.restore(v2);
  assert.deepEqual(canonical(c.partials()), canonical(a.partials()));
});

test('restored cell measures must be counts (Int32), except the processing-seconds sum', () => {
  // The accumulator keeps counts in an Int32Array: a snapshot claiming a fractional or out-of-range count
  // is refused rather than silently truncated; the one float measure keeps any value.
  const acc = new Accumulator({ allowedLatenessSec: 0, retentionSec: [7200, 86_400, 86_400, -Infinity, -Infinity] }, new ComboTable());
  const w = acc.restoreWindow(WK.Day, 20_000, false);
  const measures = (at: number, v: number) => Object.assign(new Float64Array(MEASURE_COUNT), { [at]: v });
  for (const bad of [1.5, 2 ** 31, -(2 ** 31) - 1, NaN]) {
    assert.throws(() => acc.restoreCell(w, 1, measures(M.received, bad), false, null), (err: unknown) => err instanceof EngineDecodeError && /not a count/.test(err.message));
  }
  const c = acc.restoreCell(w, 2, measures(M.procSum, 1e12 + 0.5), true, null);
  assert.equal(acc.measure(c, M.procSum), 1e12 + 0.5);
  assert.equal(acc.revised(c), true);
  const d = acc.restoreCell(w, 3, measures(M.received, -(2 ** 31)), false, null);
  assert.equal(acc.measure(d, M.received), -(2 ** 31));
  // Sketch counts are Int32 too.
  const big = new Sketch();
  big.add(3600, 2 ** 31);
  assert.throws(() => acc.restoreCell(w, 4, measures(M.received, 1), false, big), (err: unknown) => err instanceof EngineDecodeError && /sketch/.test(err.message));
});
