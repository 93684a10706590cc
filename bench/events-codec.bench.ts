/**
 * `npm run bench:events` — CPU per event of the two @iocbus/events calls on the gateway's path, each against
 * the code it replaced, in one process, A and B interleaved round by round (the machine is shared: absolute
 * figures drift with its load, the ratio of two variants measured seconds apart much less):
 *
 * - encode: `encodeData` (the hand-written protobuf writer, proto-writer.ts) vs `encodeDataWithProtobufjs`
 *   (protobufjs's generated encoder, which encodeData used before);
 * - record: `toKafkaRecord` vs the same record built with protobufjs's encoder (the previous toKafkaRecord);
 * - validate: `validateCandidate` as the gateway calls it (through parseCloudEvent, on an already JSON-parsed
 *   object) with the accept-only fast path (fast-accept.ts) vs zod alone (`fastPath: false`);
 * - from_kafka_record: fromKafkaRecord (the aggregator's fallback decoder), whose validation takes the same
 *   fast path; shown for reference, without an A/B.
 * JSON.parse of the same events is measured in the same rounds as a yardstick. Needs --expose-gc (see round()).
 *
 * Pools: `gateway` — the events bench:gateway sends (services/gateway/src/test-support.ts sampleEvent, a
 * received event); `examples` — one hand-written example per type; `stress` — random valid events from the
 * arbitraries (long non-ASCII text, URLs, extensions), an upper bound.
 *
 * Environment: BENCH_EVENTS_ROUNDS (default 7), BENCH_EVENTS_PER_ROUND (default 50000).
 * Prints one JSON line per pool, then {"bench":"events",…} with the gateway pool's medians.
 */
import fc from 'fast-check';
import {
  fromKafkaRecord,
  kafkaHeaders,
  parseCloudEvent,
  toCloudEventJson,
  toKafkaRecord,
  type DossierEvent,
  type KafkaRecordOut,
} from '@iocbus/events';
import { EXAMPLE_EVENTS, arbitraryEvent } from '@iocbus/events/arbitraries';
import { validateCandidate } from '../packages/events/src/parse.js';
import { encodeData, encodeDataWithProtobufjs } from '../packages/events/src/proto.js';
import { sampleEvent } from '../services/gateway/src/test-support.js';

const ROUNDS = Number(process.env.BENCH_EVENTS_ROUNDS ?? 7);
const PER_ROUND = Number(process.env.BENCH_EVENTS_PER_ROUND ?? 50_000);

/** toKafkaRecord as it was before the hand-written writer: same headers, protobufjs's bytes. */
function toKafkaRecordWithProtobufjs(event: DossierEvent): KafkaRecordOut {
  const bytes = encodeDataWithProtobufjs(event.type, event.data);
  return { key: event.subject, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), headers: kafkaHeaders(event) };
}

interface Pool {
  texts: string[];
  objects: Record<string, unknown>[];
  events: DossierEvent[];
  records: KafkaRecordOut[];
}

function pool(jsons: unknown[]): Pool {
  const texts = jsons.map((j) => JSON.stringify(j));
  const objects = texts.map((t) => JSON.parse(t) as Record<string, unknown>);
  const events = objects.map((o) => {
    const r = parseCloudEvent(o);
    if (!r.ok) throw new Error(`invalid pool event: ${JSON.stringify(r.problems)}`);
    return r.event;
  });
  for (const e of events) {
    // The bench compares like with like: both encoders give the same bytes (property-tested too).
    if (!encodeData(e.type, e.data).equals(Buffer.from(encodeDataWithProtobufjs(e.type, e.data)))) throw new Error('encoders differ');
  }
  return { texts, objects, events, records: events.map(toKafkaRecord) };
}

const pools: Record<string, Pool> = {
  gateway: pool(Array.from({ length: 1000 }, () => sampleEvent())),
  examples: pool(Object.values(EXAMPLE_EVENTS)),
  stress: pool(fc.sample(arbitraryEvent(), { numRuns: 1000, seed: 42 }).map(toCloudEventJson)),
};

type Case = (p: Pool, i: number) => unknown;

const CASES: Record<string, Case> = {
  json_parse: (p, i) => JSON.parse(p.texts[i % p.texts.length] as string),
  encode_protobufjs: (p, i) => {
    const e = p.events[i % p.events.length] as DossierEvent;
    return encodeDataWithProtobufjs(e.type, e.data);
  },
  encode_writer: (p, i) => {
    const e = p.events[i % p.events.length] as DossierEvent;
    return encodeData(e.type, e.data);
  },
  record_protobufjs: (p, i) => toKafkaRecordWithProtobufjs(p.events[i % p.events.length] as DossierEvent),
  record_writer: (p, i) => toKafkaRecord(p.events[i % p.events.length] as DossierEvent),
  validate_zod: (p, i) => validateCandidate(p.objects[i % p.objects.length], { jsonContentType: true, fastPath: false }).ok,
  validate_fast: (p, i) => validateCandidate(p.objects[i % p.objects.length], { jsonContentType: true }).ok,
  from_kafka_record: (p, i) => fromKafkaRecord(p.records[i % p.records.length] as KafkaRecordOut).id,
};

let sink = 0;

const gc = (globalThis as { gc?: (options?: { type: 'major' | 'minor'; execution: 'sync' }) => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc (npm run bench:events does)');

/**
 * CPU µs per event of one case over one round. Each round starts from a collected heap (untimed) and ends
 * with a young-generation collection of its own garbage inside the timing: otherwise collecting one case's
 * garbage (protobufjs allocates several objects per field) is billed to whichever case runs next. (A full
 * collection inside the timing would cost more than the events themselves.)
 */
function round(p: Pool, fn: Case): number {
  gc?.({ type: 'major', execution: 'sync' });
  const c0 = process.cpuUsage();
  for (let i = 0; i < PER_ROUND; i++) if (fn(p, i)) sink++;
  gc?.({ type: 'minor', execution: 'sync' });
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / PER_ROUND;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const r2 = (x: number): number => Number(x.toFixed(2));

const summary: Record<string, number> = {};
for (const [name, p] of Object.entries(pools)) {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(CASES).map((k) => [k, []]));
  for (const fn of Object.values(CASES)) round(p, fn); // warm up every path before the first timed round
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, fn] of Object.entries(CASES)) samples[k]?.push(round(p, fn));
  }
  const us = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, r2(median(xs))]));
  const ratio = (a: string, b: string): number => r2((us[a] as number) / (us[b] as number));
  const line = {
    pool: name,
    distinct_events: p.events.length,
    cpu_us_per_event: us,
    encode_speedup: ratio('encode_protobufjs', 'encode_writer'),
    record_speedup: ratio('record_protobufjs', 'record_writer'),
    validate_speedup: ratio('validate_zod', 'validate_fast'),
  };
  console.log(JSON.stringify(line));
  if (name === 'gateway') {
    for (const [k, v] of Object.entries(us)) summary[`${k}_us`] = v;
    summary.record_speedup = line.record_speedup;
    summary.validate_speedup = line.validate_speedup;
  }
}
if (sink < 0) console.log(sink);
console.log(JSON.stringify({ bench: 'events', rounds: ROUNDS, events_per_round: PER_ROUND, ...summary }));
