import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineAt, ev, ms, valuesOf } from './testkit.js';
import { evaluate } from './evaluate.js';
import { INDICATORS } from './indicators.js';
import { MEASURES } from './measures.js';

test('SPEC reference month: 2618 received, 2541 on time, 77 overdue → 97.06 % → 19.41 / 20', () => {
  // A commune's March 2025, evaluated on 31 March 12:00 (the month is current, so open dossiers count):
  //   2500 resolved on time + 41 open within due        = 2541 on time
  //     60 resolved late    + 17 open and overdue now   =   77 overdue
  //   2618 = 2541 + 77 received; §2.1 = 2541 / 2618 = 0.970588… → 97.06 %, × 20 points = 19.41.
  const e = engineAt('2025-03-31 12:00');
  const unit = { unit: 'H21.227' };
  let n = 0;
  const dossier = (kind: 'on_time' | 'late' | 'open_ok' | 'open_overdue') => {
    const code = `H21.227-250301-${String(++n).padStart(4, '0')}`;
    const day = String(1 + (n % 28)).padStart(2, '0');
    const received = `2025-03-${day} 08:00`;
    const due = kind === 'open_ok' ? '2025-04-10 17:00' : kind === 'open_overdue' ? '2025-03-30 17:00' : `2025-03-${day} 17:00`;
    e.apply(ev.received(code, received, { due, ...unit }));
    if (kind === 'on_time') e.apply(ev.resolved(code, `2025-03-${day} 16:00`, unit));
    if (kind === 'late') e.apply(ev.resolved(code, '2025-03-30 16:00', unit));
  };
  for (let i = 0; i < 2500; i++) dossier('on_time');
  for (let i = 0; i < 60; i++) dossier('late');
  for (let i = 0; i < 41; i++) dossier('open_ok');
  for (let i = 0; i < 17; i++) dossier('open_overdue');
  e.advance(ms('2025-03-31 12:00'));
  const v = valuesOf(e.partials(), '2025-03-31 12:00');
  for (const scope of ['province:H21', 'unit:H21.227']) {
    const tdgq = v('qd766.tdgq_2_1', '2025-03', scope);
    assert.equal(v('received', '2025-03', scope)?.value, 2618);
    assert.equal(tdgq?.numerator, 2541);
    assert.equal(tdgq?.denominator, 2618);
    assert.equal(((tdgq?.value ?? 0) * 100).toFixed(2), '97.06');
    assert.equal(tdgq?.points?.toFixed(2), '19.41');
    assert.equal(tdgq?.maxPoints, 20);
  }
  assert.equal(v('in_process_overdue', 'now')?.value, 17);
  assert.equal(v('in_process', 'now')?.value, 58);
});

test('every rate of the SPEC table, with its numerator and denominator', () => {
  const e = engineAt('2025-03-20 12:00');
  const all = [{ code: 'A', digitized: true, reused: true }, { code: 'B', digitized: true, fromPersonalStore: true }];
  // D1 online, paper result required (1.004227), fully digitized, reused + personal store, e-result,
  //    fee 100 000 paid online, synced, rated satisfied; resolved in 50 h.
  e.apply(ev.received('D1', '2025-03-10 08:00', { due: '2025-03-14 17:00', channel: 'online', procedure: '1.004227', components: all, popDb: true }));
  e.apply(ev.feeRequested('D1', '2025-03-10 09:00', 100_000));
  e.apply(ev.feePaid('D1', '2025-03-10 10:00', 100_000, 'national_portal'));
  e.apply(ev.resultIssued('D1', '2025-03-12 09:00', true));
  e.apply(ev.resolved('D1', '2025-03-12 10:00'));
  e.apply(ev.synced('D1', '2025-03-12 11:00'));
  e.apply(ev.rated('D1', '2025-03-12 12:00', 'satisfied'));
  // D2 postal, paper result required, no e-result, one component not digitized; fee paid offline; supplement;
  //    resolved in 100 h (− 10 h paused = 90 h); rated dissatisfied.
  e.apply(ev.received('D2', '2025-03-10 08:00', { due: '2025-03-18 17:00', channel: 'postal', procedure: '1.004227', components: [{ code: 'A', digitized: false }] }));
  e.apply(ev.feeRequested('D2', '2025-03-10 09:00', 50_000));
  e.apply(ev.feePaid('D2', '2025-03-11 09:00', 50_000, 'offline'));
  e.apply(ev.supplementRequested('D2', '2025-03-11 08:00'));
  e.apply(ev.supplementReceived('D2', '2025-03-11 18:00'));
  e.apply(ev.resolved('D2', '2025-03-14 12:00'));
  e.apply(ev.rated('D2', '2025-03-14 13:00', 'dissatisfied'));
  // D3 direct, free, no components, open; D4 direct, free fee request (0 VND).
  e.apply(ev.received('D3', '2025-03-11 08:00', { due: '2025-03-25 17:00' }));
  e.apply(ev.received('D4', '2025-03-11 08:00', { due: '2025-03-25 17:00', vneid: true }));
  e.apply(ev.feeRequested('D4', '2025-03-11 09:00', 0));
  e.apply(ev.feePaid('D4', '2025-03-11 10:00', 0, 'local_gateway'));
  e.advance(ms('2025-03-20 12:00'));
  const v = valuesOf(e.partials(), '2025-03-20 12:00');
  const rate = (id: string) => {
    const x = v(id, '2025-03');
    return [x?.numerator, x?.denominator];
  };
  assert.deepEqual(rate('online_share'), [1, 4]);
  assert.deepEqual(rate('postal_share'), [1, 4]);
  assert.deepEqual(rate('direct_share'), [2, 4]);
  assert.deepEqual(rate('digitized_at_intake_rate'), [1, 4]); // D3, D4 have no components: not digitized
  assert.deepEqual(rate('e_result_rate'), [1, 2]);
  assert.deepEqual(rate('online_payment_rate'), [2, 3]); // D1 portal, D4 local gateway; D2 offline
  assert.deepEqual(rate('supplement_rate'), [1, 4]);
  assert.deepEqual(rate('dissatisfied_rate'), [1, 2]);
  assert.deepEqual(rate('on_time_rate'), [2, 2]);
  assert.equal(v('processing_hours_avg', '2025-03')?.value, (50 + 90) / 2);
  const p90 = v('processing_hours_p90', '2025-03')?.value ?? NaN;
  assert.ok(Math.abs(p90 - 50) <= 0.5, `p90 of {50, 90} is the rank-0.9 element, 50 h (±1 %): ${p90}`);
  // QĐ 766
  assert.deepEqual(rate('qd766.onl_3_3'), [1, 4]); // D1: online and (paper required → e-result issued)
  assert.deepEqual(rate('qd766.tttt_3_6'), [1, 2]); // non-zero fees: D1 (online), D2 (offline)
  assert.deepEqual(rate('qd766.mdsh_4_1'), [1, 2]); // resolved needing paper: D1 (e-result), D2 (none)
  assert.deepEqual(rate('qd766.mdsh_4_2'), [1, 4]);
  assert.deepEqual(rate('qd766.mdsh_4_3'), [1, 4]);
  assert.deepEqual(rate('qd766.mdsh_4_4'), [1, 4]);
  assert.deepEqual(rate('qd766.mdsh_4_5b'), [2, 4]); // D1 population DB, D4 VNeID
  assert.deepEqual(rate('qd766.ckmb_1_4'), [1, 4]);
  // 5.4: 100 % − (0 late of 2 + 1 dissatisfied of 2) = 50 %; target 90 % → 6 × 0.5/0.9 = 3.333…
  const mdhl = v('qd766.mdhl_5_4', '2025-03');
  assert.equal(mdhl?.value, 0.5);
  assert.ok(Math.abs((mdhl?.points ?? 0) - 6 * (0.5 / 0.9)) < 1e-12);
  // 4.3 target 80 %: 25 % → 2 × 0.25/0.8 = 0.625 points.
  assert.equal(v('qd766.mdsh_4_3', '2025-03')?.points, 0.625);
  // onl_3_3 has a target but no points in the SPEC: shown, not scored.
  assert.equal(v('qd766.onl_3_3', '2025-03')?.points, undefined);
  // The score sums what is computable; every scored indicator has a non-zero denominator here.
  const score = v('qd766.score', '2025-03');
  const scored = INDICATORS.filter((d) => (d.kind === 'ratio' || d.kind === 'one_minus_rates') && d.qd766?.points !== undefined);
  assert.equal(score?.denominator, scored.reduce((s, d) => s + ((d.kind === 'ratio' || d.kind === 'one_minus_rates') && d.qd766?.points ? d.qd766.points : 0), 0));
  const expected = scored.reduce((s, d) => s + (v(d.id, '2025-03')?.points ?? 0), 0);
  assert.ok(Math.abs((score?.value ?? 0) - expected) < 1e-9);
});

test('a zero denominator gives null (N/A), and an uncomputable indicator is left out of the score', () => {
  const e = engineAt('2025-03-20 12:00');
  e.apply(ev.received('D1', '2025-03-10 08:00', { due: '2025-03-25 17:00' }));
  e.advance(ms('2025-03-20 12:00'));
  const v = valuesOf(e.partials(), '2025-03-20 12:00');
  assert.equal(v('on_time_rate', '2025-03')?.value, null);
  assert.equal(v('processing_hours_p50', '2025-03')?.value, null);
  assert.equal(v('processing_hours_avg', '2025-03')?.value, null);
  assert.equal(v('qd766.tttt_3_6', '2025-03')?.points, null);
  assert.equal(v('qd766.mdhl_5_4', '2025-03')?.value, null);
  // Computable: 2.1 (1 open within due of 1 → 20), 4.2..4.5b and 1.4 (all 0 of 1 → 0 points).
  const score = v('qd766.score', '2025-03');
  assert.equal(score?.value, 20);
  assert.equal(score?.denominator, 20 + 4 + 2 + 4 + 2 + 6);
});

test('past windows use only their ended dossiers for §2.1; the current one adds the open dossiers', () => {
  const e = engineAt('2025-04-05 12:00');
  e.apply(ev.received('D1', '2025-03-10 08:00', { due: '2025-03-12 17:00' }));
  e.apply(ev.resolved('D1', '2025-03-11 08:00'));
  e.apply(ev.received('D2', '2025-03-10 08:00', { due: '2025-03-12 17:00' })); // still open, overdue
  e.advance(ms('2025-04-05 12:00'));
  const v = valuesOf(e.partials(), '2025-04-05 12:00');
  assert.equal(v('qd766.tdgq_2_1', '2025-03')?.window.current, false);
  assert.deepEqual([v('qd766.tdgq_2_1', '2025-03')?.numerator, v('qd766.tdgq_2_1', '2025-03')?.denominator], [1, 1]);
  assert.deepEqual([v('qd766.tdgq_2_1', '2025')?.numerator, v('qd766.tdgq_2_1', '2025')?.denominator], [1, 2]);
});

test('the indicator catalog only names known measures and has unique ids', () => {
  const known = new Set<string>(MEASURES);
  const ids = new Set<string>();
  for (const d of INDICATORS) {
    assert.ok(!ids.has(d.id), `duplicate ${d.id}`);
    ids.add(d.id);
    assert.ok(known.has(d.events), `${d.id} events`);
    const terms = d.kind === 'ratio' ? [...d.num, ...d.den] : d.kind === 'one_minus_rates' ? d.rates.flatMap((r) => [r.num, r.den]) : [];
    for (const t of terms) assert.ok(known.has(typeof t === 'string' ? t : t.now), `${d.id}: ${JSON.stringify(t)}`);
  }
  // Every SPEC §2 indicator is present.
  for (const id of ['received', 'resolved', 'resolved_early', 'resolved_on_time', 'resolved_late', 'on_time_rate', 'in_process', 'in_process_overdue', 'online_share', 'postal_share', 'direct_share', 'digitized_at_intake_rate', 'e_result_rate', 'online_payment_rate', 'processing_hours_p50', 'processing_hours_p90', 'processing_hours_avg', 'supplement_rate', 'intake_rejected', 'withdrawn', 'stopped', 'extensions', 'dissatisfied_rate', 'qd766.tdgq_2_1', 'qd766.onl_3_3', 'qd766.tttt_3_6', 'qd766.mdsh_4_1', 'qd766.mdsh_4_2', 'qd766.mdsh_4_3', 'qd766.mdsh_4_4', 'qd766.mdsh_4_5b', 'qd766.mdhl_5_4', 'qd766.ckmb_1_4', 'qd766.score']) {
    assert.ok(ids.has(id), id);
  }
  assert.equal(evaluate([], { nowMs: 0 }).length, 0);
});
