import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Sketch, evaluate, type IndicatorPartial, type IndicatorValue } from '@iocbus/engine';
import { ViewCore } from './core.js';
import type { ViewValue } from './model.js';
import { DAY, MINUTE, ManualClock, partial, partialRecord, province, removedRecord, testCatalog, unit } from './test-support.js';

/**
 * The view re-evaluates only what a publish touched (items of changed keys, the rolling hour per minute,
 * current windows at midnight), with per-key merges cached. Whatever the order of records, removals, publishes
 * and clock moves, the published values must equal the engine evaluating every live partial at once.
 */
const SCOPES = [province, unit('H21.17'), unit('H21.227')];
const PARTS = 2;

type Op =
  | { t: 'rec'; input: number; window: 'day' | 'month' | 'minute' | 'now'; back: number; scope: number; n: number; sketch: number; closed: boolean; revised: boolean; remove: boolean }
  | { t: 'publish' }
  | { t: 'clock'; minutes: number };

const recArb = fc.record({
  t: fc.constant('rec' as const),
  input: fc.integer({ min: 0, max: 3 }),
  window: fc.constantFrom('day' as const, 'month' as const, 'minute' as const, 'minute' as const, 'now' as const),
  back: fc.integer({ min: -2, max: 70 }),
  scope: fc.integer({ min: 0, max: 2 }),
  n: fc.integer({ min: 0, max: 50 }),
  sketch: fc.integer({ min: 0, max: 5 }),
  closed: fc.boolean(),
  revised: fc.boolean(),
  remove: fc.boolean(),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: recArb },
  { weight: 3, arbitrary: fc.constant({ t: 'publish' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('clock' as const), minutes: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 20, max: 70 }), fc.integer({ min: 600, max: 900 })) }) },
);

/**
 * Minute buckets count back from the clock's minute (a few offsets, so a bucket is often written again: its
 * part of the rolling hour's cached sum is then replaced), most of them inside the rolling hour.
 */
const MINUTE_BACK = [-1, 0, 1, 5, 30, 59, 60, 65];
function toPartial(op: Extract<Op, { t: 'rec' }>, nowMinute: number): IndicatorPartial {
  const scope = SCOPES[op.scope] ?? province;
  const n = op.n;
  const m = { received: n, events_received_family: n, channel_online: n >> 1, channel_direct: n - (n >> 1), ended: n >> 1, ended_on_time: n >> 2, events_ended_family: n >> 1, resolved: n >> 1, resolved_on_time: n >> 2, processing_seconds_sum: 3600 * n };
  const p =
    op.window === 'now'
      ? partial('now', 0, scope, { in_process: n, in_process_within_due: n >> 1 })
      : op.window === 'minute'
        ? partial('minute', nowMinute - (MINUTE_BACK[(op.back + 2) % MINUTE_BACK.length] as number), scope, m)
        : op.window === 'month'
          ? partial('month', 2025 * 12 + 2 - (op.back % 16), scope, m, { closed: op.closed, revised: op.revised })
          : partial('day', DAY - (op.back % 4), scope, m, { closed: op.closed, revised: op.revised });
  if (op.sketch > 0 && op.window !== 'now') {
    const s = new Sketch();
    for (let i = 0; i < op.sketch; i++) s.add(600 * (i + 1) * (op.n + 1), 1 + (i % 2));
    p.sketch = s;
  }
  return p;
}

function fullEvaluation(core: ViewCore): Map<string, IndicatorValue> {
  const live: IndicatorPartial[] = [];
  for (const mk of core.state.keys.values()) live.push(...mk.partials());
  const out = new Map<string, IndicatorValue>();
  for (const v of evaluate(live, { nowMs: core.table.minute * 60_000 })) out.set(`${v.indicator}|${v.window.kind}:${v.window.label}|${v.scope.kind}:${v.scope.code}`, v);
  return out;
}

function same(got: ViewValue, e: IndicatorValue): boolean {
  const w = e.window;
  const gauge = w.kind === 'now';
  return (
    got.value === e.value &&
    got.numerator === e.numerator &&
    got.denominator === e.denominator &&
    got.eventCount === e.eventCount &&
    got.open === e.open &&
    got.revised === e.revised &&
    got.points === e.points &&
    got.maxPoints === e.maxPoints &&
    got.target === e.target &&
    got.window.kind === w.kind &&
    got.window.label === w.label &&
    got.window.current === w.current &&
    got.window.startMs === (gauge ? null : w.startMs) &&
    got.window.endMs === (gauge ? null : w.endMs) &&
    got.scope.kind === e.scope.kind &&
    got.scope.code === e.scope.code
  );
}

test('property: incremental publishes hold exactly what a full evaluation of every partial gives', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 80 }), fc.integer({ min: 0, max: 1439 }), (ops, startMinute) => {
      // Start anywhere in the local day of MINUTE, so some runs cross midnight (current windows move).
      const clock = new ManualClock((MINUTE - (MINUTE % 1440) + startMinute) * 60_000);
      const core = new ViewCore({ topic: 'partials', partitions: PARTS, historyId: 'test', catalog: testCatalog, now: () => clock.now(), changelogMaxKeys: 100_000, maxTokenAgeMs: 3_600_000, maxMarkers: 10_000, onDecodeError: () => {} });
      const next = new Array<number>(PARTS).fill(0);
      const check = (): void => {
        const expected = fullEvaluation(core);
        const got = core.table.byKey;
        for (const [k, e] of expected) {
          const v = got.get(k);
          assert.ok(v !== undefined, `${k} missing`);
          assert.ok(same(v, e), `${k}: ${JSON.stringify(v)} != ${JSON.stringify(e)}`);
        }
        for (const k of got.keys()) assert.ok(expected.has(k), `${k} should not exist`);
      };
      for (const op of [...ops, { t: 'publish' } as const]) {
        if (op.t === 'clock') clock.advance(op.minutes * 60_000);
        else if (op.t === 'publish') {
          core.publish();
          check();
        } else {
          const p = toPartial(op, Math.floor(clock.now() / 60_000));
          const r = op.remove ? removedRecord(op.input, p) : partialRecord(op.input, p);
          const part = op.scope % PARTS;
          core.apply([{ partition: part, offset: String(next[part]!++), key: r.key, value: r.value }]);
        }
      }
    }),
    { numRuns: 300 },
  );
});
