import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineDecodeError } from './errors.js';
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
  assert.deepEqual(Array.from(bytes.subarray(0, 5)), [0x49, 0x4f, 0x43, 0x53, 1]);
  const e = engineAt('2025-03-12 12:00');
  const refused = (b: Uint8Array, re: RegExp) =>
    assert.throws(() => e.restore(b), (err: unknown) => err instanceof EngineDecodeError && err.code === 'IOC_ENGINE_DECODE' && !err.retriable && re.test(err.message));
  refused(Uint8Array.from([0x49, 0x4f, 0x43, 0x53, 2, ...bytes.subarray(5)]), /version 2 is not supported/);
  refused(bytes.subarray(0, bytes.length - 7), /truncated|trailing|partial element|varint/);
  refused(Uint8Array.from([1, 2, 3, 4, 5]), /bad magic/);
});
