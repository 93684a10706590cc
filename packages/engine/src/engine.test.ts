/**
 * One hand-written scenario per SPEC §2 rule, with the expected numbers worked out in comments.
 * Times are local (UTC+07:00) unless written with Z.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DossierEvent } from '@iocbus/events';
import { engineAt, ev, ms, valuesOf } from './testkit.js';
import type { PartitionEngine } from './engine.js';

function run(events: DossierEvent[], nowLocal: string, engine: PartitionEngine = engineAt(nowLocal)) {
  for (const e of events) engine.apply(e);
  engine.advance(ms(nowLocal));
  return { engine, v: valuesOf(engine.partials(), nowLocal) };
}

const value = (x: { value: number | null } | undefined): number | null | undefined => x?.value;

test('§2 windows: each count lands in the window of the timestamp of the fact it counts', () => {
  const { v } = run(
    [
      // receivedAt 2025-03-31 23:30 local is March; resolvedAt 2025-04-01 00:30 local is April (and Q2).
      ev.received('D1', '2025-03-31 23:30', { due: '2025-04-05 17:00' }),
      ev.resolved('D1', '2025-04-01 00:30'),
      // The fee was requested in March and paid online in April: the payment rate belongs to March.
      ev.feeRequested('D1', '2025-03-31 23:40', 50_000),
      ev.feePaid('D1', '2025-04-01 08:00', 50_000, 'national_portal'),
      // The rating's own time decides its window: 2 April.
      ev.rated('D1', '2025-04-02 10:00', 'dissatisfied'),
    ],
    '2025-04-02 12:00',
  );
  assert.equal(value(v('received', '2025-03')), 1);
  assert.equal(value(v('received', '2025-04')), 0); // April's cell exists (the resolution) but received nothing
  assert.equal(value(v('resolved', '2025-03')), 0);
  assert.equal(value(v('resolved', '2025-04')), 1);
  assert.equal(value(v('resolved', '2025-Q2')), 1);
  assert.equal(value(v('resolved', '2025-04-01')), 1);
  assert.equal(v('online_payment_rate', '2025-03')?.numerator, 1);
  assert.equal(v('online_payment_rate', '2025-03')?.denominator, 1);
  assert.equal(v('online_payment_rate', '2025-04')?.denominator, 0); // April's cell has no fee request
  assert.equal(v('online_payment_rate', '2025-04')?.value, null);
  assert.equal(value(v('dissatisfied_rate', '2025-04-02')), 1);
  assert.equal(v('dissatisfied_rate', '2025-04-01')?.value, null); // nobody rated that day: N/A
});

test('§2 windows close at end + allowed lateness; a late event updates its own window and marks it revised', () => {
  const e = engineAt('2025-03-31 12:00', { allowedLatenessMs: 86_400_000, retention: { dayMs: 3 * 86_400_000 } });
  e.apply(ev.received('D1', '2025-03-30 09:00', { due: '2025-04-04 17:00' }));
  e.drainChanges();
  // March ends 2025-04-01 00:00; + 1 day lateness → closed from 2025-04-02 00:00.
  e.advance(ms('2025-04-01 23:59'));
  assert.equal(e.partials().find((p) => p.window.label === '2025-03' && p.scope.kind === 'province')?.closed, false);
  e.advance(ms('2025-04-02 00:00'));
  const closing = e.drainChanges().updated.filter((p) => p.window.label === '2025-03');
  assert.ok(closing.length > 0 && closing.every((p) => p.closed && !p.revised), 'closed cells are re-published once, not revised');
  // A batch sync brings a dossier received on 30 March: March now counts 2 and says it was revised.
  e.apply(ev.received('D2', '2025-03-30 10:00', { due: '2025-04-04 17:00' }));
  let v = valuesOf(e.partials(), '2025-04-02 00:00');
  assert.equal(value(v('received', '2025-03')), 2);
  assert.equal(v('received', '2025-03')?.open, false);
  assert.equal(v('received', '2025-03')?.revised, true);
  assert.equal(v('received', '2025-04')?.revised, undefined); // April has no cell at all
  // Day windows are kept 3 days after they end: 30 March is evicted on 2 April 00:00 + … → by 4 April.
  e.drainChanges();
  e.advance(ms('2025-04-04 12:00'));
  const { evicted } = e.drainChanges();
  assert.ok(evicted.some((k) => k.key === 'day:2025-03-30|province:H21'), JSON.stringify(evicted.map((k) => k.key)));
  // Too late even for retention: the day is not re-created, the month still gets the fact.
  const before = e.stats().lateDropped;
  e.apply(ev.received('D3', '2025-03-30 11:00', { due: '2025-04-04 17:00' }));
  assert.equal(e.stats().lateDropped, before + 1);
  v = valuesOf(e.partials(), '2025-04-04 12:00');
  assert.equal(v('received', '2025-03-30'), undefined);
  assert.equal(value(v('received', '2025-03')), 3);
});

test('quarter and year retention keep the months that form them (quarters and years are sums of months)', () => {
  const DAY = 86_400_000;
  const months = (e: PartitionEngine): string[] => [...new Set(e.partials().filter((p) => p.window.kind === 'month').map((p) => p.window.label))].sort();
  const fresh = (retention: { monthMs: number; quarterMs?: number; yearMs?: number }): PartitionEngine => {
    const e = engineAt('2025-01-10 12:00', { allowedLatenessMs: 0, retention: { dayMs: 0, ...retention } });
    e.apply(ev.received('D1', '2025-01-10 09:00', { due: '2025-01-20 17:00' }));
    e.apply(ev.received('D2', '2025-02-10 09:00', { due: '2025-02-20 17:00' }));
    return e;
  };
  // Month retention alone: January goes one day after it ends, so Q1 would lose it.
  const plain = fresh({ monthMs: DAY });
  plain.advance(ms('2025-02-03 00:00'));
  assert.deepEqual(months(plain), ['2025-02']);
  // quarterMs: Q1 (ends 1 April) stays whole for 30 more days, then its months go.
  const quarter = fresh({ monthMs: DAY, quarterMs: 30 * DAY });
  quarter.advance(ms('2025-04-30 12:00'));
  assert.deepEqual(months(quarter), ['2025-01', '2025-02']);
  assert.equal(valuesOf(quarter.partials(), '2025-04-30 12:00')('received', '2025-Q1')?.value, 2);
  quarter.drainChanges();
  quarter.advance(ms('2025-05-01 00:00'));
  assert.deepEqual(months(quarter), []);
  assert.ok(quarter.drainChanges().evicted.some((k) => k.key === 'month:2025-01|province:H21'));
  // yearMs: 2025's months stay until 2026-01-01 + 10 days.
  const year = fresh({ monthMs: DAY, quarterMs: 30 * DAY, yearMs: 10 * DAY });
  year.advance(ms('2026-01-10 23:59'));
  assert.equal(valuesOf(year.partials(), '2026-01-10 23:59')('received', '2025')?.value, 2);
  year.advance(ms('2026-01-11 00:00'));
  assert.deepEqual(months(year), []);
});

test('§2 rolling_1h sums the per-minute buckets of the last 60 minutes', () => {
  const { v } = run(
    [
      ev.received('D1', '2025-03-10 09:30', { due: '2025-03-20 17:00', channel: 'online' }), // 61 min before 10:30:xx → outside
      ev.received('D2', '2025-03-10 09:31', { due: '2025-03-20 17:00', channel: 'online' }), // first minute inside
      ev.received('D3', '2025-03-10 10:30', { due: '2025-03-20 17:00' }), // current minute
    ],
    '2025-03-10 10:30',
  );
  const r = v('received', 'rolling_1h');
  assert.equal(value(r), 2);
  assert.equal(r?.window.startMs, ms('2025-03-10 09:31'));
  assert.equal(r?.window.endMs, ms('2025-03-10 10:31'));
  assert.equal(value(v('online_share', 'rolling_1h')), 0.5); // D2 online of {D2, D3}
  assert.equal(v('qd766.tdgq_2_1', 'rolling_1h'), undefined); // period scores are not shown hourly
});

test('§2 scopes come from the received event; transfers do not move a dossier', () => {
  const { v } = run(
    [
      // Sector absent from the event: taken from the procedure catalog (1.004227 → G16-NN05).
      ev.received('D1', '2025-03-10 08:00', { due: '2025-03-20 17:00', channel: 'online', unit: 'H21.17', procedure: '1.004227' }),
      ev.transferred('D1', '2025-03-11 08:00', 'H21.17', 'H21.227', { procedure: '1.004227' }),
      ev.resolved('D1', '2025-03-12 08:00', { unit: 'H21.227', procedure: '1.004227' }),
      // The event's own sector wins over the catalog's.
      ev.received('D2', '2025-03-10 09:00', { due: '2025-03-20 17:00', unit: 'H21.227', procedure: '1.004227', sector: 'G16-NN99' }),
      // Intake rejection has no received: counted in the event's own unit and procedure (no channel).
      ev.intakeRejected('D3', '2025-03-10 10:00', { unit: 'H21.18', procedure: '1.009972' }),
    ],
    '2025-03-15 12:00',
  );
  assert.equal(value(v('received', '2025-03', 'unit:H21.17')), 1);
  assert.equal(value(v('resolved', '2025-03', 'unit:H21.17')), 1);
  assert.equal(v('received', '2025-03', 'unit:H21.17')?.scope.group, 'department');
  assert.equal(value(v('received', '2025-03', 'unit:H21.227')), 1); // D2 only
  assert.equal(value(v('resolved', '2025-03', 'unit:H21.227')), 0);
  assert.equal(v('received', '2025-03', 'unit:H21.227')?.scope.group, 'commune');
  assert.equal(value(v('received', '2025-03', 'sector:G16-NN05')), 1);
  assert.equal(value(v('received', '2025-03', 'sector:G16-NN99')), 1);
  assert.equal(value(v('received', '2025-03', 'procedure:1.004227')), 2);
  assert.equal(value(v('received', '2025-03', 'channel:online')), 1);
  assert.equal(value(v('received', '2025-03', 'channel:direct')), 1);
  assert.equal(value(v('intake_rejected', '2025-03', 'unit:H21.18')), 1);
  assert.equal(value(v('intake_rejected', '2025-03', 'sector:G12-XD01')), 1);
  assert.equal(value(v('intake_rejected', '2025-03')), 1);
});

test('§2 ended = first of resolved › result_returned › stopped › withdrawn, endAt from that event', () => {
  const { v } = run(
    [
      // D1: returned (12th) arrives before resolved (11th 15:00): resolved wins → endAt 11th 15:00;
      // processing = 11th 15:00 − 10th 08:00 = 31 h.
      ev.received('D1', '2025-03-10 08:00', { due: '2025-03-14 17:00' }),
      ev.returned('D1', '2025-03-12 10:00'),
      ev.resolved('D1', '2025-03-11 15:00'),
      // D2: stopped on the 12th, then resolved on the 13th: resolved outranks stopped → resolved on the 13th;
      // the stop is still counted (on the 12th).
      ev.received('D2', '2025-03-10 08:00', { due: '2025-03-14 17:00' }),
      ev.stopped('D2', '2025-03-12 09:00'),
      ev.resolved('D2', '2025-03-13 09:00'),
      // D3: withdrawn only: ended (for QĐ 766 §2.1) but not resolved.
      ev.received('D3', '2025-03-10 08:00', { due: '2025-03-14 17:00' }),
      ev.withdrawn('D3', '2025-03-12 11:00'),
      // D4: result returned with no resolved event: ended by result_returned, counts as resolved.
      ev.received('D4', '2025-03-10 08:00', { due: '2025-03-14 17:00' }),
      ev.returned('D4', '2025-03-13 16:00'),
    ],
    '2025-03-15 12:00',
  );
  assert.equal(value(v('resolved', '2025-03-11')), 1);
  assert.equal(value(v('resolved', '2025-03-12')), 0);
  assert.equal(value(v('resolved', '2025-03-13')), 2); // D2 and D4
  assert.equal(value(v('resolved', '2025-03')), 3);
  assert.equal(value(v('stopped', '2025-03-12')), 1);
  assert.equal(value(v('withdrawn', '2025-03-12')), 1);
  assert.equal(value(v('in_process', 'now')), 0);
  // Ended in March: D1..D4 = 4, all on time, none open → 4/4.
  assert.equal(v('qd766.tdgq_2_1', '2025-03')?.denominator, 4);
  const p50 = v('processing_hours_p50', '2025-03-11')?.value ?? NaN;
  assert.ok(Math.abs(p50 - 31) <= 0.31, `p50 ${p50} ≈ 31 h`);
});

test('§2 paused time: supplement rounds stop the clock; an open round stops it from requestedAt on', () => {
  const { v } = run(
    [
      // D1: due 12th 17:00; paused 11th 09:00 → 13th 09:00 = 48 h; resolved 14th 16:00.
      // endAt − paused = 12th 16:00 ≤ due → on time; same date as due → not early.
      // processing = (14th 16:00 − 10th 08:00) − 48 h = 104 h − 48 h = 56 h.
      ev.received('D1', '2025-03-10 08:00', { due: '2025-03-12 17:00' }),
      ev.supplementRequested('D1', '2025-03-11 09:00'),
      ev.supplementReceived('D1', '2025-03-13 09:00'),
      ev.resolved('D1', '2025-03-14 16:00'),
      // D2: same, resolved two hours later: endAt − paused = 12th 18:00 > due → late.
      ev.received('D2', '2025-03-10 08:00', { due: '2025-03-12 17:00' }),
      ev.supplementRequested('D2', '2025-03-11 09:00'),
      ev.supplementReceived('D2', '2025-03-13 09:00'),
      ev.resolved('D2', '2025-03-14 18:00'),
      // D3: open round since 11th 09:00, due 12th 17:00, now 20th: the clock is stopped, not overdue.
      ev.received('D3', '2025-03-10 08:00', { due: '2025-03-12 17:00' }),
      ev.supplementRequested('D3', '2025-03-11 09:00'),
    ],
    '2025-03-20 12:00',
  );
  assert.equal(value(v('resolved_on_time', '2025-03-14')), 1);
  assert.equal(value(v('resolved_late', '2025-03-14')), 1);
  assert.equal(value(v('resolved_early', '2025-03-14')), 0);
  assert.equal(value(v('processing_hours_avg', '2025-03-14')), (56 + 58) / 2);
  assert.equal(value(v('in_process', 'now')), 1);
  assert.equal(value(v('in_process_overdue', 'now')), 0);
  assert.equal(value(v('supplement_rate', '2025-03')), 1); // 3 of 3 received had a supplement request
});

test('§2 more than one supplement request makes a dossier late, however fast it ends', () => {
  const { v } = run(
    [
      // Two 1-hour rounds, resolved on day 2 of a 10-day deadline: still late under Decision 766.
      ev.received('D1', '2025-03-10 08:00', { due: '2025-03-20 17:00' }),
      ev.supplementRequested('D1', '2025-03-10 09:00'),
      ev.supplementReceived('D1', '2025-03-10 10:00'),
      ev.supplementRequested('D1', '2025-03-10 11:00'),
      ev.supplementReceived('D1', '2025-03-10 12:00'),
      ev.resolved('D1', '2025-03-11 08:00'),
      // D2: open with two requests: not overdue (round open) but no longer "within due" for §2.1.
      ev.received('D2', '2025-03-10 08:00', { due: '2025-03-20 17:00' }),
      ev.supplementRequested('D2', '2025-03-10 09:00'),
      ev.supplementReceived('D2', '2025-03-10 10:00'),
      ev.supplementRequested('D2', '2025-03-11 09:00'),
    ],
    '2025-03-12 12:00',
  );
  assert.equal(value(v('resolved_late', '2025-03')), 1);
  assert.equal(value(v('on_time_rate', '2025-03')), 0);
  assert.equal(value(v('in_process_overdue', 'now')), 0);
  // §2.1: (0 ended on time + 0 open within due) ÷ (1 ended + 1 open) = 0.
  assert.equal(v('qd766.tdgq_2_1', '2025-03')?.numerator, 0);
  assert.equal(v('qd766.tdgq_2_1', '2025-03')?.denominator, 2);
  // Processing: 24 h − 2 h paused = 22 h.
  assert.equal(value(v('processing_hours_avg', '2025-03')), 22);
});

test('§2 early ⇔ on time and the local date of (endAt − paused) is before the due date', () => {
  const { v } = run(
    [
      ev.received('D1', '2025-03-10 08:00', { due: '2025-03-14 17:00' }),
      ev.resolved('D1', '2025-03-13 23:59'), // 13th < 14th → early
      ev.received('D2', '2025-03-10 08:00', { due: '2025-03-14 17:00' }),
      ev.resolved('D2', '2025-03-14 00:00'), // same date → on time, not early
      // D3: resolved on the 15th, but a 30-hour pause brings it back to the 14th 00:00... still not early;
      // and to the 13th with a 40-hour pause → early.
      ev.received('D3', '2025-03-10 08:00', { due: '2025-03-14 17:00' }),
      ev.supplementRequested('D3', '2025-03-11 08:00'),
      ev.supplementReceived('D3', '2025-03-13 00:00'), // 40 h
      ev.resolved('D3', '2025-03-15 10:00'), // 15th 10:00 − 40 h = 13th 18:00 → early
    ],
    '2025-03-16 12:00',
  );
  assert.equal(value(v('resolved_early', '2025-03')), 2); // D1, D3
  assert.equal(value(v('resolved_on_time', '2025-03')), 3); // early ⊂ on time
  assert.equal(value(v('resolved_late', '2025-03')), 0);
});

test('§2 deadline_extended does not move the due date; it is counted in extensions', () => {
  const { v } = run(
    [
      ev.received('D1', '2025-03-10 08:00', { due: '2025-03-12 17:00' }),
      ev.deadlineExtended('D1', '2025-03-12 16:00', '2025-03-12 17:00', '2025-03-20 17:00'),
      ev.resolved('D1', '2025-03-15 10:00'), // after the original due → late, extension or not
    ],
    '2025-03-16 12:00',
  );
  assert.equal(value(v('resolved_late', '2025-03')), 1);
  assert.equal(value(v('extensions', '2025-03-12')), 1);
  assert.equal(value(v('extensions', '2025-03')), 1);
});

test('§2 overdue now ⇔ received, not ended, no open round, now − paused > due; driven by the clock', () => {
  const e = engineAt('2025-03-12 12:00');
  e.apply(ev.received('D1', '2025-03-10 08:00', { due: '2025-03-12 17:00' }));
  e.apply(ev.received('D2', '2025-03-10 08:00', { due: '2025-03-12 17:00' }));
  e.apply(ev.supplementRequested('D2', '2025-03-12 10:00'));
  const gauges = (now: string) => {
    const v = valuesOf(e.partials(), now);
    return [value(v('in_process', 'now')), value(v('in_process_overdue', 'now'))];
  };
  assert.deepEqual(gauges('2025-03-12 12:00'), [2, 0]);
  e.advance(Date.parse('2025-03-12T17:00:00+07:00'));
  assert.deepEqual(gauges('2025-03-12 17:00'), [2, 0]); // now = due is not yet past due
  e.advance(Date.parse('2025-03-12T17:00:01+07:00'));
  assert.deepEqual(gauges('2025-03-12 17:00'), [2, 1]); // D1 overdue; D2's clock is stopped
  // D2 supplied on the 13th 10:00: paused 24 h → overdue after 13th 17:00.
  e.apply(ev.supplementReceived('D2', '2025-03-13 10:00'));
  e.advance(ms('2025-03-13 17:00'));
  assert.deepEqual(gauges('2025-03-13 17:00'), [2, 1]);
  e.advance(ms('2025-03-13 17:01'));
  assert.deepEqual(gauges('2025-03-13 17:01'), [2, 2]);
  // Resolution ends both; the gauges drop.
  e.apply(ev.resolved('D1', '2025-03-13 17:30'));
  e.apply(ev.withdrawn('D2', '2025-03-13 17:40'));
  assert.deepEqual(gauges('2025-03-13 18:00'), [0, 0]);
});

test('§1 dedup: the same (source, id) twice is one event; another source with the same id is another event', () => {
  const e = engineAt('2025-03-12 12:00');
  const r = ev.received('D1', '2025-03-10 08:00', { due: '2025-03-14 17:00' });
  const rating = ev.rated('D1', '2025-03-11 08:00', 'dissatisfied', { id: 'same-id' });
  assert.equal(e.apply(r), true);
  assert.equal(e.apply(rating), true);
  const before = JSON.stringify(valuesOf(e.partials(), '2025-03-12 12:00')('received', '2025-03'));
  assert.equal(e.apply({ ...r }), false);
  assert.equal(e.apply({ ...rating }), false);
  assert.equal(JSON.stringify(valuesOf(e.partials(), '2025-03-12 12:00')('received', '2025-03')), before);
  // Same id from another system: a different event (a later rating wins, ties go to the worse one).
  assert.equal(e.apply(ev.rated('D1', '2025-03-11 09:00', 'satisfied', { id: 'same-id', source: '/agencies/H21.18/igate' })), true);
  const v = valuesOf(e.partials(), '2025-03-12 12:00');
  assert.equal(value(v('dissatisfied_rate', '2025-03')), 0);
  assert.equal(e.stats().duplicates, 2);
});

test('§2 whatever order a dossier\'s events arrive in, the result is the same', () => {
  const natural = [
    ev.submitted('D1', '2025-03-10 07:00', true),
    ev.received('D1', '2025-03-10 08:00', { due: '2025-03-12 17:00', channel: 'online', components: [{ code: 'CMND', digitized: false }] }),
    ev.digitized('D1', '2025-03-10 09:00', ['CMND']),
    ev.supplementRequested('D1', '2025-03-11 09:00'),
    ev.supplementReceived('D1', '2025-03-13 09:00'),
    ev.feeRequested('D1', '2025-03-11 10:00', 100_000),
    ev.feePaid('D1', '2025-03-11 11:00', 100_000, 'local_gateway'),
    ev.resolved('D1', '2025-03-14 16:00'),
    ev.resultIssued('D1', '2025-03-14 16:05', true),
    ev.returned('D1', '2025-03-15 09:00'),
    ev.rated('D1', '2025-03-15 10:00', 'satisfied'),
    ev.synced('D1', '2025-03-15 11:00'),
  ];
  // Resolved before received, supply before request, result before resolution, …: reversed.
  const reversed = [...natural].reverse();
  const snap = (events: DossierEvent[]) => {
    const { engine } = run(events, '2025-03-20 12:00');
    return JSON.stringify(
      engine
        .partials()
        .map((p) => [p.window.label, p.scope.kind, p.scope.code, Array.from(p.measures), p.sketch?.entries() ?? null])
        .filter((x) => (x[3] as number[]).some((n) => n !== 0))
        .sort(),
    );
  };
  assert.equal(snap(reversed), snap(natural));
  const { v } = run(reversed, '2025-03-20 12:00');
  assert.equal(value(v('resolved_on_time', '2025-03')), 1);
  assert.equal(value(v('qd766.mdsh_4_2', '2025-03')), 1); // digitized later; e-result issued for a paper procedure? (1.001193 needs none)
  assert.equal(value(v('qd766.mdsh_4_5b', '2025-03')), 1); // VNeID at submission
  assert.equal(value(v('qd766.ckmb_1_4', '2025-03')), 1);
});
