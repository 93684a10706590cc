/**
 * Hot-path cost of the events package, per event: JSON.parse + parseCloudEvent (gateway validation),
 * toKafkaRecord (protobuf encode + headers), and fromKafkaRecord (aggregator decode + validation).
 * JSON.parse alone is measured in the same run as a ceiling, since absolute numbers drift on a shared
 * machine. Prints one JSON line.
 *
 *   node --import tsx packages/events/scripts/bench.ts [events]
 */
import fc from 'fast-check';
import { EXAMPLE_EVENTS, arbitraryEvent } from '../src/arbitraries.js';
import { fromKafkaRecord, parseCloudEvent, toCloudEventJson, toKafkaRecord, type KafkaRecordOut } from '../src/index.js';

const n = Number(process.argv[2] ?? 200_000);
// Realistic: the hand-written examples (short ASCII/Vietnamese fields). Stress: random valid events from the
// arbitraries, with long non-ASCII strings, URLs and extensions — slower per event, and an upper bound.
const pools: Record<string, string[]> = {
  realistic: Object.values(EXAMPLE_EVENTS).map((e) => JSON.stringify(e)),
  stress: fc.sample(arbitraryEvent(), { numRuns: 500, seed: 42 }).map((e) => JSON.stringify(toCloudEventJson(e))),
};

/** Per event: wall time, and CPU time of this process (the fairer figure when the machine is shared). */
function measure(name: string, fn: (i: number) => unknown) {
  for (let i = 0; i < 20_000; i++) fn(i); // warm up the JIT
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < n; i++) if (fn(i)) sink++;
  const cpu = process.cpuUsage(c0);
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink < 0) console.log(sink);
  const cpuUs = (cpu.user + cpu.system) / n;
  return { name, wallUsPerEvent: +(ns / n / 1000).toFixed(2), cpuUsPerEvent: +cpuUs.toFixed(2), eventsPerCpuSec: Math.round(1e6 / cpuUs) };
}

for (const [poolName, pool] of Object.entries(pools)) {
  const records: KafkaRecordOut[] = pool.map((t) => {
    const r = parseCloudEvent(JSON.parse(t));
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return toKafkaRecord(r.event);
  });
  const results = [
    measure('json_parse_only', (i) => JSON.parse(pool[i % pool.length] as string)),
    measure('json_parse+parseCloudEvent', (i) => parseCloudEvent(JSON.parse(pool[i % pool.length] as string)).ok),
    measure('json_parse+parseCloudEvent+toKafkaRecord', (i) => {
      const r = parseCloudEvent(JSON.parse(pool[i % pool.length] as string));
      return r.ok && toKafkaRecord(r.event).value.length;
    }),
    measure('fromKafkaRecord', (i) => fromKafkaRecord(records[i % records.length] as KafkaRecordOut).id),
  ];
  console.log(JSON.stringify({ bench: 'events', pool: poolName, events: n, distinctEvents: pool.length, results }));
}
