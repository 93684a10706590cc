import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { evaluate, type IndicatorPartial } from '@iocbus/engine';
import { ViewCore } from './core.js';
import { compileFilter } from './filter.js';
import type { ViewValue } from './model.js';
import type { RecordLike } from './state.js';
import { DAY, MINUTE, ManualClock, NOW, partial, partialRecord, progressRecord, province, received, removedRecord, testCatalog, unit } from './test-support.js';

const ALL = compileFilter({});

function newCore(clock: ManualClock, partitions = 2, overrides: Partial<ConstructorParameters<typeof ViewCore>[0]> = {}): ViewCore {
  return new ViewCore({
    topic: 'partials',
    partitions,
    historyId: 'test',
    catalog: testCatalog,
    now: () => clock.now(),
    changelogMaxKeys: 100_000,
    maxTokenAgeMs: 3_600_000,
    maxMarkers: 10_000,
    onDecodeError: () => {},
    ...overrides,
  });
}

let offsets = new Map<number, number>();
/** Bus records as the partials topic would hand them out (offsets per partials partition). */
function rec(part: number, r: { key: string; value: Buffer }): RecordLike {
  const o = offsets.get(part) ?? 0;
  offsets.set(part, o + 1);
  return { partition: part, offset: String(o), key: r.key, value: r.value };
}

const valueOf = (core: ViewCore, key: string): ViewValue | undefined => core.table.byKey.get(key);

test('merges one (window, scope) across input partitions and re-evaluates on change', () => {
  offsets = new Map();
  const clock = new ManualClock();
  const core = newCore(clock);
  core.apply([rec(0, partialRecord(0, received('day', DAY, province, 10, 4))), rec(1, partialRecord(1, received('day', DAY, province, 5, 1)))]);
  const first = core.publish();
  assert.ok(first.changed > 0);
  const key = 'received|day:2025-03-14|province:H21';
  assert.equal(valueOf(core, key)?.value, 15);
  assert.equal(valueOf(core, key)?.window.current, true);
  assert.equal(valueOf(core, key)?.scope.name, 'Test province');
  const share = valueOf(core, 'online_share|day:2025-03-14|province:H21');
  assert.deepEqual([share?.numerator, share?.denominator, share?.value], [5, 15, 5 / 15]);

  // Input partition 1 republishes its absolute contribution: replaced, not added.
  core.apply([rec(1, partialRecord(1, received('day', DAY, province, 7, 1)))]);
  const second = core.publish();
  assert.equal(valueOf(core, key)?.value, 17);
  assert.ok(core.log.since(first.seq)?.some((s) => s.keys.includes(key)));
  assert.ok(second.seq > first.seq);
});

test('a removal from one input partition lowers the value; from all, the values disappear', () => {
  offsets = new Map();
  const clock = new ManualClock();
  const core = newCore(clock);
  const p0 = received('day', DAY - 1, unit('H21.17'), 3);
  const p1 = received('day', DAY - 1, unit('H21.17'), 4);
  core.apply([rec(0, partialRecord(0, p0)), rec(1, partialRecord(1, p1))]);
  core.publish();
  const key = 'received|day:2025-03-13|unit:H21.17';
  assert.equal(valueOf(core, key)?.value, 7);
  assert.equal(valueOf(core, key)?.window.current, false);
  assert.equal(valueOf(core, key)?.scope.group, 'department');
  core.apply([rec(0, removedRecord(0, p0))]);
  core.publish();
  assert.equal(valueOf(core, key)?.value, 4);
  core.apply([rec(1, removedRecord(1, p1))]);
  const last = core.publish();
  assert.equal(valueOf(core, key), undefined);
  assert.ok(core.log.since(last.seq - 1)?.[0]?.keys.includes(key), 'the removal is a change subscribers see');
});

test('the rolling hour follows the clock minute by minute, and gauges feed current windows only', () => {
  offsets = new Map();
  const clock = new ManualClock();
  const core = newCore(clock, 1);
  core.apply([
    rec(0, partialRecord(0, received('minute', MINUTE - 10, province, 2))),
    rec(0, partialRecord(0, received('minute', MINUTE - 50, province, 3))),
    rec(0, partialRecord(0, partial('now', 0, province, { in_process: 8, in_process_within_due: 6 }))),
    rec(0, partialRecord(0, partial('day', DAY, province, { ended: 2, ended_on_time: 2, events_ended_family: 2 }))),
    rec(0, partialRecord(0, partial('day', DAY - 1, province, { ended: 2, ended_on_time: 1, events_ended_family: 2 }))),
  ]);
  core.publish();
  assert.equal(valueOf(core, 'received|rolling_1h:rolling_1h|province:H21')?.value, 5);
  assert.equal(valueOf(core, 'in_process|now:now|province:H21')?.value, 8);
  // Decision 766 §2.1: today counts open dossiers now; yesterday only its ended ones.
  const today = valueOf(core, 'qd766.tdgq_2_1|day:2025-03-14|province:H21');
  assert.deepEqual([today?.numerator, today?.denominator], [8, 10]);
  const yesterday = valueOf(core, 'qd766.tdgq_2_1|day:2025-03-13|province:H21');
  assert.deepEqual([yesterday?.numerator, yesterday?.denominator], [1, 2]);

  clock.advance(15 * 60_000);
  core.publish();
  assert.equal(valueOf(core, 'received|rolling_1h:rolling_1h|province:H21')?.value, 2, 'the bucket 50 minutes back left the hour');
  clock.advance(60 * 60_000);
  core.publish();
  assert.equal(valueOf(core, 'received|rolling_1h:rolling_1h|province:H21'), undefined);

  // A gauge change re-evaluates today's 2.1, not yesterday's.
  core.apply([rec(0, partialRecord(0, partial('now', 0, province, { in_process: 4, in_process_within_due: 4 })))]);
  core.publish();
  assert.deepEqual([valueOf(core, 'qd766.tdgq_2_1|day:2025-03-14|province:H21')?.numerator, valueOf(core, 'qd766.tdgq_2_1|day:2025-03-14|province:H21')?.denominator], [6, 6]);
  assert.equal(valueOf(core, 'qd766.tdgq_2_1|day:2025-03-13|province:H21')?.denominator, 2);
});

test('at local midnight yesterday stops being current and 2.1 drops its open-now terms', () => {
  offsets = new Map();
  const clock = new ManualClock(Date.parse('2025-03-14T23:58:00+07:00'));
  const core = newCore(clock, 1);
  core.apply([
    rec(0, partialRecord(0, partial('now', 0, province, { in_process: 8, in_process_within_due: 6 }))),
    rec(0, partialRecord(0, partial('day', DAY, province, { ended: 2, ended_on_time: 2, events_ended_family: 2 }))),
  ]);
  core.publish();
  const key = 'qd766.tdgq_2_1|day:2025-03-14|province:H21';
  assert.equal(valueOf(core, key)?.denominator, 10);
  clock.advance(5 * 60_000);
  core.publish();
  assert.equal(valueOf(core, key)?.window.current, false);
  assert.equal(valueOf(core, key)?.denominator, 2);
});

test('values equal the engine evaluating all partials at once', () => {
  offsets = new Map();
  const clock = new ManualClock();
  const core = newCore(clock, 3);
  const partials: IndicatorPartial[] = [];
  for (let input = 0; input < 4; input++) {
    for (const scope of [province, unit('H21.17'), unit('H21.227')]) {
      const p = partial('month', 2025 * 12 + 2, scope, {
        received: 10 + input,
        channel_online: input,
        resolved: 5,
        resolved_on_time: 4 - (input % 2),
        ended: 5,
        ended_on_time: 4,
        events_ended_family: 5,
        events_received_family: 10 + input,
        processing_seconds_sum: 3600 * (input + 1),
      });
      partials.push(p);
      core.apply([rec(input % 3, partialRecord(input, p))]);
    }
  }
  core.publish();
  const expected = evaluate(partials, { nowMs: MINUTE * 60_000 });
  assert.ok(expected.length > 50);
  for (const e of expected) {
    const got = valueOf(core, `${e.indicator}|${e.window.kind}:${e.window.label}|${e.scope.kind}:${e.scope.code}`);
    assert.ok(got !== undefined, `${e.indicator} ${e.scope.code} present`);
    assert.deepEqual([got.value, got.numerator, got.denominator, got.eventCount, got.open], [e.value, e.numerator, e.denominator, e.eventCount, e.open]);
  }
});

test('progress records give the lowest watermark and the oldest report time', () => {
  offsets = new Map();
  const clock = new ManualClock();
  const core = newCore(clock, 1);
  core.apply([rec(0, progressRecord(0, 3, NOW - 5000, NOW - 100)), rec(0, progressRecord(1, 3, NOW - 9000, NOW - 50)), rec(0, progressRecord(2, 3, null, NOW - 400))]);
  assert.equal(core.state.watermarkMs(), NOW - 9000);
  assert.equal(core.state.progressTimeMs(), NOW - 400);
});

test('an undecodable record is skipped and reported, and the rest still apply', () => {
  offsets = new Map();
  const clock = new ManualClock();
  const bad: string[] = [];
  const core = newCore(clock, 1, { onDecodeError: (r) => void bad.push(r.key) });
  const counts = core.apply([rec(0, { key: '0/day:2025-03-14|province:H21', value: Buffer.from([1, 2, 3]) }), rec(0, partialRecord(0, received('day', DAY, province, 2)))]);
  core.publish();
  assert.deepEqual(bad, ['0/day:2025-03-14|province:H21']);
  assert.equal(counts.invalid, 1);
  assert.equal(valueOf(core, 'received|day:2025-03-14|province:H21')?.value, 2);
});

// ---------------------------------------------------------------------------------------------------
// The resume property: for any history, a client holding instance A's values at token T, after applying
// what instance B computes as changed since T, holds exactly B's values — even when B read a compacted
// log (only the latest record per key), at a later minute, or after local midnight (800+ minutes on).

interface Op {
  input: number;
  window: 'day' | 'month' | 'minute' | 'now';
  back: number;
  scope: number;
  n: number;
  remove: boolean;
}

const SCOPES = [province, unit('H21.17'), unit('H21.227')];

function toRecord(op: Op): { key: string; value: Buffer } {
  const scope = SCOPES[op.scope] ?? province;
  const p =
    op.window === 'now'
      ? partial('now', 0, scope, { in_process: op.n, in_process_within_due: Math.floor(op.n / 2) })
      : op.window === 'minute'
        ? received('minute', MINUTE - op.back * 7, scope, op.n)
        : op.window === 'month'
          ? partial('month', 2025 * 12 + 2 - op.back, scope, { received: op.n, events_received_family: op.n, ended: op.n, ended_on_time: 1, events_ended_family: op.n })
          : partial('day', DAY - op.back, scope, { received: op.n, events_received_family: op.n, ended: op.n, ended_on_time: Math.floor(op.n / 2), events_ended_family: op.n });
  return op.remove ? removedRecord(op.input, p) : partialRecord(op.input, p);
}

const opArb = fc.record({
  input: fc.integer({ min: 0, max: 3 }),
  window: fc.constantFrom('day' as const, 'month' as const, 'minute' as const, 'now' as const),
  back: fc.integer({ min: 0, max: 3 }),
  scope: fc.integer({ min: 0, max: 2 }),
  n: fc.integer({ min: 1, max: 50 }),
  remove: fc.boolean(),
});

function snapshotMap(core: ViewCore): Map<string, ViewValue> {
  return new Map(core.snapshot(ALL).map((v) => [v.key, v]));
}

const content = (v: ViewValue): string => JSON.stringify({ ...v, updatedAtMs: 0 });

test('resume property: changes since a token bring any instance-A state to instance B, compaction and clock moves included', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.array(opArb, { maxLength: 40 }), fc.oneof(fc.integer({ min: 0, max: 90 }), fc.integer({ min: 800, max: 900 })), (before, after, minutesLater) => {
      const PARTS = 2;
      const log: RecordLike[] = [];
      const next = new Array<number>(PARTS).fill(0);
      const append = (op: Op): RecordLike => {
        const r = toRecord(op);
        const part = op.scope % PARTS;
        const record = { partition: part, offset: String(next[part]!++), key: r.key, value: r.value };
        log.push(record);
        return record;
      };
      const clockA = new ManualClock();
      const a = newCore(clockA, PARTS);
      a.apply(before.map(append));
      a.publish();
      const token = a.log.headState;
      const clientState = snapshotMap(a);

      after.forEach(append);
      // B read the topic after compaction: only each key's latest record survives (tombstones too).
      const latest = new Map<string, RecordLike>();
      for (const r of log) latest.set(`${r.partition}|${r.key}`, r);
      const compacted = [...latest.values()].sort((x, y) => x.partition - y.partition || Number(x.offset) - Number(y.offset));
      const clockB = new ManualClock(NOW + minutesLater * 60_000);
      const b = newCore(clockB, PARTS);
      b.apply(compacted);
      b.publish();

      const { values, removed } = b.changedSince(token, ALL);
      for (const k of removed) clientState.delete(k.key);
      for (const v of values) clientState.set(v.key, v);
      const expected = snapshotMap(b);
      assert.deepEqual([...clientState.keys()].sort(), [...expected.keys()].sort());
      for (const [k, v] of expected) assert.equal(content(clientState.get(k) as ViewValue), content(v), k);
    }),
    { numRuns: 150 },
  );
});
