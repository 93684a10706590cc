import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { parseCloudEvent, toEpochMs } from '@iocbus/events';
import { ProvinceSimulator, loadProfileFile, SAMPLE_PROFILE_PATH, type SimulatedEvent } from './index.js';

const START = Date.parse('2025-07-07T00:00:00+07:00'); // a Monday
const DAY = 86_400_000;

async function simulator(seed: number | string, startMs = START) {
  const catalog = await loadSampleCatalog();
  const profile = await loadProfileFile(SAMPLE_PROFILE_PATH, catalog);
  return new ProvinceSimulator({ catalog, profile, seed, startMs });
}

async function run(seed: number | string, days: number, step?: number): Promise<SimulatedEvent[]> {
  const sim = await simulator(seed);
  if (step === undefined) return sim.advanceTo(START + days * DAY);
  const out: SimulatedEvent[] = [];
  for (let t = START + step; t <= START + days * DAY; t += step) out.push(...sim.advanceTo(t, 777));
  out.push(...sim.advanceTo(START + days * DAY));
  return out;
}

const lines = (events: readonly SimulatedEvent[]): string[] => events.map((e) => JSON.stringify(e.event));

test('a fixed seed gives the same events twice, however the clock is stepped; another seed gives others', async () => {
  const a = lines(await run(42, 2));
  const b = lines(await run(42, 2, 7 * 60_000 + 13_000));
  assert.ok(a.length > 5000, `expected a province's two days, got ${a.length} events`);
  assert.deepEqual(b, a);
  const c = lines(await run(43, 2));
  assert.notDeepEqual(c, a);
  // Another seed is another run: event ids never collide with the first run's (the gateway would drop them).
  const idsA = new Set((await run(42, 1)).map((e) => `${e.event.source} ${e.event.id}`));
  assert.ok((await run(43, 1)).every((e) => !idsA.has(`${e.event.source} ${e.event.id}`)));
});

test('every simulated event validates, and each dossier’s events come in lifecycle order', async () => {
  const events = await run(7, 4);
  const byDossier = new Map<string, SimulatedEvent[]>();
  for (const e of events) {
    const parsed = parseCloudEvent(JSON.parse(JSON.stringify(e.event)));
    assert.ok(parsed.ok, `${e.event.type} ${e.event.id}: ${JSON.stringify(!parsed.ok && parsed.problems)}`);
    assert.equal(toEpochMs(e.event.time), e.at);
    assert.ok(e.sendAt >= e.at, 'an event is never sent before it happens');
    const list = byDossier.get(e.event.subject) ?? [];
    list.push(e);
    byDossier.set(e.event.subject, list);
  }
  let sent = -Infinity;
  for (const e of events) {
    assert.ok(e.sendAt >= sent, 'events leave in send order');
    sent = e.sendAt;
  }
  const name = (e: SimulatedEvent) => e.event.type.slice('vn.gov.tthc.dossier.'.length);
  for (const [code, list] of byDossier) {
    const names = list.map(name);
    const times = list.map((e) => e.at);
    assert.deepEqual(times, [...times].sort((x, y) => x - y), `${code}: event times go forward`);
    const first = names[0] as string;
    assert.ok(first === 'submitted' || first === 'received', `${code} starts with ${first}`);
    const ends = names.filter((n) => ['resolved', 'withdrawn', 'stopped', 'intake_rejected'].includes(n));
    assert.ok(ends.length <= 1, `${code} ends once: ${names.join(',')}`);
    const at = (n: string) => names.indexOf(n);
    if (at('result_issued') >= 0) assert.ok(at('resolved') >= 0 && at('resolved') < at('result_issued'), `${code}: ${names.join(',')}`);
    if (at('result_returned') >= 0) assert.ok(at('result_issued') < at('result_returned'), `${code}: ${names.join(',')}`);
    if (at('fee_paid') >= 0) assert.ok(at('fee_requested') < at('fee_paid'), `${code}: ${names.join(',')}`);
    if (at('supplement_received') >= 0) assert.ok(at('supplement_requested') < at('supplement_received'), `${code}: ${names.join(',')}`);
    const end = ends[0];
    if (end !== undefined) assert.equal(names.slice(names.indexOf(end) + 1).filter((n) => !['result_issued', 'result_returned', 'rated'].includes(n)).length, 0, `${code}: nothing happens after ${end}: ${names.join(',')}`);
  }
});

test('the province looks like the profile says: volumes, channels, digitization, late batches', async () => {
  const events = await run(1, 7);
  const received = events.filter((e) => e.event.type.endsWith('.received'));
  // ~1,200 dossiers per working day in the SAMPLE profile; Sunday and Saturday are quiet.
  const perDay = new Map<number, number>();
  for (const e of received) perDay.set(Math.floor((e.at - START) / DAY), (perDay.get(Math.floor((e.at - START) / DAY)) ?? 0) + 1);
  const monday = perDay.get(0) ?? 0;
  const sunday = perDay.get(6) ?? 0;
  assert.ok(monday > 900 && monday < 1800, `Monday received ${monday}`);
  assert.ok(sunday < monday / 5, `Sunday received ${sunday} vs Monday ${monday}`);
  const online = received.filter((e) => e.event.data.channel === 'online').length / received.length;
  assert.ok(online > 0.25 && online < 0.5, `online share ${online}`);
  const allDigitized =
    received.filter((e) => (e.event.data.components as { digitized: boolean }[]).every((c) => c.digitized)).length / received.length;
  assert.ok(allDigitized > 0.97 && allDigitized < 0.995, `digitized at intake ${allDigitized} (the seed article: 98.57 %)`);
  // Office hours: no direct dossier is received at night.
  for (const e of received.filter((x) => x.event.data.channel === 'direct')) {
    const hour = new Date(e.at + 7 * 3_600_000).getUTCHours();
    assert.ok(hour >= 7 && hour < 17, `direct dossier received at ${e.event.time}`);
  }
  // The land registry uploads every two hours: its events are sent on the even hour, after they happen.
  const land = events.filter((e) => e.event.source === '/agencies/H21.16/vilis');
  assert.ok(land.length > 100);
  for (const e of land) assert.equal((e.sendAt + 7 * 3_600_000) % (2 * 3_600_000), 0);
  assert.ok(land.some((e) => e.sendAt - e.at > 30 * 60_000), 'some land registry events arrive more than half an hour late');
  const types = new Set(events.map((e) => e.event.type.slice('vn.gov.tthc.dossier.'.length)));
  for (const t of ['submitted', 'received', 'intake_rejected', 'digitized', 'transferred', 'supplement_requested', 'supplement_received', 'fee_requested', 'fee_paid', 'deadline_extended', 'withdrawn', 'stopped', 'resolved', 'result_issued', 'result_returned', 'rated', 'synced_national']) {
    assert.ok(types.has(t), `a week of the province has ${t} events`);
  }
});
