/**
 * `npm run bench:gateway` — events/s from clients through the gateway into Kafka (acks=all), over HTTP batches
 * and over gRPC PublishStream, against kcat (librdkafka) producing the same keys and values to the same
 * broker in the same run: the ceiling. The gateway runs as its own process (services/gateway/src/main.ts),
 * like in production, with the gateway's node flags (services/gateway/src/node-flags.ts); this process is
 * the load generator and only talks to 127.0.0.1. Both phases send requests serialised before the clock
 * starts (HTTP: the JSON batch bodies; gRPC: the PublishStreamRequest bytes, through a serializer that
 * passes bytes on), so that on this 2-core machine the clients' own encoding is not counted against the
 * gateway; responses and acks are decoded and checked as any client does. Every phase is bounded by an
 * event count and a time limit. The gateway's CPU per event (from /proc) is printed per phase: with other
 * work on the machine, events/s move with its load, CPU per event much less.
 *
 * The gRPC load generator is a minimal PublishStream client on node:http2 (services/gateway/src/h2-stream-client.ts):
 * it writes as many pre-framed requests as the server's grant allows in one write, decodes every ack by hand
 * and checks its sequence and status, and respects both the grant and HTTP/2 flow control. grpc-js's client
 * cost 17-22 µs of CPU per message, as much as the gateway, on the same 2 cores; this one ~2 µs. The server
 * is the gateway's grpc-js server either way. BENCH_GATEWAY_GRPC_CLIENT=grpc-js runs the old client instead.
 *
 * Environment: KAFKA_BROKERS (else a broker is started), BENCH_GATEWAY_EVENTS (per phase, default 200000),
 * BENCH_GATEWAY_MAX_SECONDS (per phase, default 60), BENCH_GATEWAY_PROFILE=1 (CPU-profile the gateway and
 * print its hottest functions; BENCH_GATEWAY_PROFILE_DIR=dir keeps the .cpuprofile), BENCH_GATEWAY_PHASES
 * (default http,grpc; e.g. grpc to run and profile only that phase), BENCH_GATEWAY_GRPC_CLIENT (h2 or grpc-js),
 * BENCH_GATEWAY_STREAMS (PublishStream calls, default 6).
 * Ends with one JSON line: {"bench":"gateway","http_events_per_s":…,"grpc_events_per_s":…,
 * "ceiling_events_per_s":…,"ratio":…,"p50_ms":…,"p99_ms":…}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as http2 from 'node:http2';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { createKafkaBus } from '@iocbus/bus';
import { parseCloudEvent, toKafkaRecord, toProtoCloudEvent, type DossierEvent } from '@iocbus/events';
import { kcatCount, kcatProduceFile, startKafka, uniqueName, waitFor, writeKcatRecordsFile } from '@iocbus/testing';
import { generateApiKey } from '../services/gateway/src/api-keys.js';
import { GATEWAY_NODE_FLAGS } from '../services/gateway/src/node-flags.js';
import { INGEST_SERVICE, loadIngestPackage } from '../services/gateway/src/grpc.js';
import { frameMessages, publishStream, type Frames } from '../services/gateway/src/h2-stream-client.js';
import { bearer, sampleEvent, type StreamResponse } from '../services/gateway/src/test-support.js';

const EVENTS = Number(process.env.BENCH_GATEWAY_EVENTS ?? 200_000);
const MAX_SECONDS = Number(process.env.BENCH_GATEWAY_MAX_SECONDS ?? 60);
const PROFILE = process.env.BENCH_GATEWAY_PROFILE === '1';
const PROFILE_DIR = process.env.BENCH_GATEWAY_PROFILE_DIR;
const GRPC_CLIENT = process.env.BENCH_GATEWAY_GRPC_CLIENT ?? 'h2';
const PHASES = new Set((process.env.BENCH_GATEWAY_PHASES ?? 'http,grpc').split(','));
const BATCH = 1000;
const HTTP_CONCURRENCY = 6;
// 6 streams under a grant of 1000 keep as many events in flight as the HTTP phase's 6 clients with batches of 1000.
const STREAMS = Number(process.env.BENCH_GATEWAY_STREAMS ?? 6);
const PARTITIONS = 6;
const HOST = '127.0.0.1';
const MAIN = fileURLToPath(new URL('../services/gateway/src/main.ts', import.meta.url));

function events(n: number): DossierEvent[] {
  return Array.from({ length: n }, () => {
    const parsed = parseCloudEvent(sampleEvent());
    if (!parsed.ok) throw new Error('sample event is invalid');
    return parsed.event;
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const round = (x: number, digits = 0): number => Number(x.toFixed(digits));

interface Gateway {
  child: ChildProcess;
  httpPort: number;
  grpcPort: number;
  exited: Promise<number | null>;
}

async function startGateway(env: NodeJS.ProcessEnv, profileDir: string | undefined): Promise<Gateway> {
  // Started as npm start, the iocbus command and the image start it: with the gateway's node flags.
  const args = [...GATEWAY_NODE_FLAGS, '--import', 'tsx', ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]), MAIN];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      process.stderr.write(`${line}\n`);
    }
  });
  let listening: Record<string, unknown>;
  try {
    listening = await waitFor(() => lines.find((l) => l.msg === 'gateway listening'), { timeoutMs: 60_000, message: 'the gateway to listen' });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return { child, httpPort: listening.httpPort as number, grpcPort: listening.grpcPort as number, exited };
}

/** HTTP: HTTP_CONCURRENCY clients post pre-serialised batches of BATCH events; per-request latency recorded. */
async function httpPhase(url: string, key: string, bodies: string[], sizes: number[]): Promise<{ events: number; seconds: number; latenciesMs: number[] }> {
  let next = 0;
  let accepted = 0;
  const latenciesMs: number[] = [];
  const deadline = performance.now() + MAX_SECONDS * 1000;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (next < bodies.length && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/events:batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
        body: bodies[i] as string,
      });
      const body = (await res.json()) as { accepted?: number; error?: unknown };
      latenciesMs.push(performance.now() - t0);
      if (res.status !== 202 || body.accepted !== sizes[i]) throw new Error(`batch ${i}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      accepted += body.accepted ?? 0;
    }
  }
  await Promise.all(Array.from({ length: HTTP_CONCURRENCY }, worker));
  return { events: accepted, seconds: (performance.now() - started) / 1000, latenciesMs };
}

interface StreamMethod {
  requestSerialize(value: unknown): Buffer;
}

/**
 * An IngestService client whose PublishStream sends requests given as bytes as they are: the load generator
 * encodes its messages before the clock starts, as the HTTP phase serialises its bodies, so that on this
 * 2-core machine the client's protobuf encoding is not counted against the gateway. Acks are decoded as
 * any client decodes them.
 */
function preEncodedClient(port: number): grpc.Client & { PublishStream(metadata: grpc.Metadata): grpc.ClientDuplexStream<Buffer, StreamResponse> } {
  const service = loadIngestPackage()[INGEST_SERVICE] as unknown as grpc.ServiceDefinition;
  const stream = service.PublishStream as grpc.MethodDefinition<unknown, unknown>;
  const passBytes = (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : stream.requestSerialize(value));
  const Client = grpc.makeGenericClientConstructor({ ...service, PublishStream: { ...stream, requestSerialize: passBytes } }, 'IngestService');
  return new Client(`${HOST}:${port}`, grpc.credentials.createInsecure()) as never;
}

interface GrpcLoad {
  /** PublishStreamRequest bytes per stream, for grpc-js… */
  messages: Buffer[][];
  /** …and the same as gRPC frames in one Buffer per stream, for the HTTP/2 client. */
  frames: Frames[];
}

/** PublishStreamRequest bytes for STREAMS streams, each numbering its share of the events from 1. */
function encodeStreams(events: DossierEvent[]): GrpcLoad {
  const stream = (loadIngestPackage()[INGEST_SERVICE] as unknown as Record<string, StreamMethod>).PublishStream as StreamMethod;
  const share = Math.ceil(events.length / STREAMS);
  const messages = Array.from({ length: STREAMS }, (_, s) =>
    events.slice(s * share, (s + 1) * share).map((e, i) => stream.requestSerialize({ sequence: i + 1, event: toProtoCloudEvent(e) })),
  );
  return { messages, frames: messages.map(frameMessages) };
}

/** gRPC through grpc-js's client: STREAMS PublishStream calls, each keeping as many events in flight as the server grants. */
async function grpcJsPhase(port: number, key: string, streams: Buffer[][]): Promise<{ events: number; seconds: number; ackLatenciesMs: number[] }> {
  const started = performance.now();
  const ackLatenciesMs: number[] = [];
  const one = (part: Buffer[]): Promise<number> =>
    new Promise((resolve, reject) => {
      const client = preEncodedClient(port);
      const call = client.PublishStream(bearer(key));
      const sentAt: number[] = [];
      let window = 0;
      let sent = 0;
      let acked = 0;
      const timer = setTimeout(() => call.cancel(), MAX_SECONDS * 1000);
      const pump = (): void => {
        while (sent < part.length && sent - acked < window) {
          sentAt[sent] = performance.now();
          call.write(part[sent] as Buffer);
          sent++;
        }
        if (sent === part.length && acked === sent) call.end();
      };
      call.on('data', (m: StreamResponse) => {
        if (m.flowControl !== undefined) window = m.flowControl.maxInFlight;
        if (m.ack !== undefined) {
          if (m.ack.result.status !== 'EVENT_STATUS_ACCEPTED') reject(new Error(`ack ${JSON.stringify(m.ack)}`));
          if (m.ack.sequence !== acked + 1) reject(new Error(`ack ${m.ack.sequence} after ${acked}`));
          acked = m.ack.sequence;
          if (acked % 100 === 0) ackLatenciesMs.push(performance.now() - (sentAt[acked - 1] as number));
        }
        pump();
      });
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) => {
        clearTimeout(timer);
        client.close();
        if (s.code === grpc.status.OK || s.code === grpc.status.CANCELLED) resolve(acked);
        else reject(new Error(`stream ended ${grpc.status[s.code]}: ${s.details}`));
      });
    });
  const counts = await Promise.all(streams.map(one));
  return { events: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - started) / 1000, ackLatenciesMs };
}

/**
 * gRPC through the minimal node:http2 client (h2-stream-client.ts): STREAMS PublishStream calls on their own
 * HTTP/2 connections, each sending what the grant allows in one write and checking every ack.
 */
async function h2Phase(port: number, key: string, streams: Frames[]): Promise<{ events: number; seconds: number; ackLatenciesMs: number[] }> {
  const started = performance.now();
  const ackLatenciesMs: number[] = [];
  const one = async (frames: Frames): Promise<number> => {
    const session = http2.connect(`http://${HOST}:${port}`);
    const sentAt = new Map<number, number>();
    try {
      const result = await publishStream({
        session,
        key,
        frames,
        timeoutMs: MAX_SECONDS * 1000,
        onSend: (first, last) => {
          const now = performance.now();
          for (let s = Math.ceil(first / 100) * 100; s <= last; s += 100) sentAt.set(s, now);
        },
        onAck: (s) => {
          if (s % 100 === 0) ackLatenciesMs.push(performance.now() - (sentAt.get(s) as number));
        },
      });
      if (result.status !== grpc.status.OK && result.status !== grpc.status.CANCELLED) {
        throw new Error(`stream ended ${grpc.status[result.status]}: ${result.message}`);
      }
      return result.acked;
    } finally {
      session.close();
    }
  };
  const counts = await Promise.all(streams.map(one));
  return { events: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - started) / 1000, ackLatenciesMs };
}

/** gRPC: STREAMS PublishStream calls through the client BENCH_GATEWAY_GRPC_CLIENT names. */
function grpcPhase(port: number, key: string, load: GrpcLoad): Promise<{ events: number; seconds: number; ackLatenciesMs: number[] }> {
  return GRPC_CLIENT === 'grpc-js' ? grpcJsPhase(port, key, load.messages) : h2Phase(port, key, load.frames);
}

/** The gateway's own view of the run: mean Kafka batch size and produce latency, from /metrics. */
async function producerStats(url: string): Promise<{ batches: number; meanBatch: number; meanProduceMs: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? Number.NaN);
  const batches = value(/^iocbus_gateway_kafka_batch_size_records_count (\S+)$/m);
  const records = value(/^iocbus_gateway_kafka_batch_size_records_sum (\S+)$/m);
  const produceSeconds = value(/^iocbus_gateway_kafka_produce_duration_seconds_sum\{outcome="acked"\} (\S+)$/m);
  return { batches, meanBatch: records / batches, meanProduceMs: (produceSeconds / batches) * 1000 };
}

/** CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self time per function from a V8 .cpuprofile: where the gateway's CPU went. */
async function hottest(dir: string, top = 15): Promise<string[]> {
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) return ['(no profile written)'];
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const total = profile.samples.length;
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/work\/main\//, '')}:${lineNumber + 1}`;
    const name = `${functionName || '(anonymous)'}${where}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + (node.hitCount ?? 0));
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)} %  ${name}`);
}

async function main(): Promise<void> {
  const broker = await startKafka();
  const dir = await mkdtemp(join(tmpdir(), 'iocbus-bench-gw-'));
  let gateway: Gateway | undefined;
  try {
    const topic = uniqueName('bench-gateway');
    const bus = createKafkaBus({ brokers: broker.brokers, clientId: 'bench-setup' });
    await bus.admin.ensureTopics([{ name: topic, partitions: PARTITIONS }]);
    await bus.close();

    const { key, hash } = await generateApiKey('bench');
    const keysFile = join(dir, 'keys.json');
    await writeFile(keysFile, JSON.stringify({ keys: [{ id: 'bench', hash, sources: ['*'], units: ['*'], rate: { eventsPerSecond: 1e9, burst: 1e9 } }] }));
    const profileDir = PROFILE ? (PROFILE_DIR ?? join(dir, 'profile')) : undefined;
    gateway = await startGateway(
      {
        KAFKA_BROKERS: broker.brokers.join(','),
        IOCBUS_GATEWAY__AUTH__KEYS_FILE: keysFile,
        IOCBUS_GATEWAY__KAFKA__TOPIC: topic,
        IOCBUS_GATEWAY__KAFKA__PRODUCE_TIMEOUT_MS: '30000',
        IOCBUS_GATEWAY__HTTP__HOST: HOST,
        IOCBUS_GATEWAY__HTTP__PORT: '0',
        IOCBUS_GATEWAY__HTTP__BODY_LIMIT_BYTES: String(4 * 1024 * 1024),
        IOCBUS_GATEWAY__GRPC__HOST: HOST,
        IOCBUS_GATEWAY__GRPC__PORT: '0',
        IOCBUS_GATEWAY__LOG__LEVEL: 'info',
      },
      profileDir,
    );
    const url = `http://${HOST}:${gateway.httpPort}`;
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 60_000, message: 'gateway readiness' });

    process.stderr.write(`bench:gateway: preparing ${EVENTS} events per phase…\n`);
    const httpEvents = events(EVENTS);
    const bodies: string[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < httpEvents.length; i += BATCH) {
      const chunk = httpEvents.slice(i, i + BATCH);
      bodies.push(JSON.stringify(chunk));
      sizes.push(chunk.length);
    }
    const grpcStreams = encodeStreams(events(EVENTS));

    // Ceiling: kcat (librdkafka, acks=all, idempotent) producing the same keys and values to the same broker,
    // once before and once after the gateway phases (the machine is shared: its load drifts during a run).
    const recordsFile = join(dir, 'records.bin');
    const kcatRecords = httpEvents.map((e) => {
      const r = toKafkaRecord(e);
      return { key: r.key, value: r.value };
    });
    const delimiters = { keyDelimiter: '\u0001\u0002KEY\u0002\u0001', messageDelimiter: '\u0001\u0002END\u0002\u0001' };
    await writeKcatRecordsFile(recordsFile, kcatRecords, delimiters);
    const kcatRun = async (): Promise<number> => {
      const ceilingTopic = uniqueName('bench-kcat');
      const admin = createKafkaBus({ brokers: broker.brokers, clientId: 'bench-setup' });
      await admin.admin.ensureTopics([{ name: ceilingTopic, partitions: PARTITIONS }]);
      await admin.close();
      const run = await kcatProduceFile({
        brokers: broker.brokers,
        topic: ceilingTopic,
        file: recordsFile,
        ...delimiters,
        properties: { acks: 'all', 'enable.idempotence': 'true' },
        timeoutMs: 300_000,
      });
      const count = await kcatCount({ brokers: broker.brokers, topic: ceilingTopic, timeoutMs: 300_000 });
      if (count !== kcatRecords.length) throw new Error(`kcat wrote ${count} of ${kcatRecords.length}`);
      return kcatRecords.length / (run.elapsedMs / 1000);
    };
    const ceilingBefore = await kcatRun();

    // Warm-up: both paths, both processes JIT-compiled before anything is timed.
    const warmHttp = events(5 * BATCH);
    await httpPhase(url, key, [0, 1, 2, 3, 4].map((i) => JSON.stringify(warmHttp.slice(i * BATCH, (i + 1) * BATCH))), [BATCH, BATCH, BATCH, BATCH, BATCH]);
    await grpcPhase(gateway.grpcPort, key, encodeStreams(events(5000)));
    const warmed = 10_000;

    const pid = gateway.child.pid as number;
    const cpu0 = [await cpuSeconds(pid), selfCpu()];
    const http = PHASES.has('http') ? await httpPhase(url, key, bodies, sizes) : { events: 0, seconds: 0, latenciesMs: [] };
    const cpu1 = [await cpuSeconds(pid), selfCpu()];
    const afterHttp = await producerStats(url);
    process.stderr.write(`bench:gateway: HTTP ${http.events} events in ${http.seconds.toFixed(2)} s\n`);
    const cpu2 = [await cpuSeconds(pid), selfCpu()];
    const grpcRun = PHASES.has('grpc') ? await grpcPhase(gateway.grpcPort, key, grpcStreams) : { events: 0, seconds: 0, ackLatenciesMs: [] };
    const cpu3 = [await cpuSeconds(pid), selfCpu()];
    const afterGrpc = await producerStats(url);
    const perEvent = (a: number[], b: number[], n: number, i: number): string => (((b[i] as number) - (a[i] as number)) * 1e6 / n).toFixed(1);
    process.stderr.write(`bench:gateway: gRPC ${grpcRun.events} events in ${grpcRun.seconds.toFixed(2)} s\n`);

    const written = await kcatCount({ brokers: broker.brokers, topic, timeoutMs: 300_000 });
    const expected = warmed + http.events + grpcRun.events;
    // More on the topic than acknowledged is possible only when a phase hit its time limit with events in flight.
    if (written < expected) throw new Error(`the topic holds ${written} records, the gateway acknowledged ${expected}`);

    const httpRate = http.events / http.seconds;
    const grpcRate = grpcRun.events / grpcRun.seconds;
    const ceilingAfter = await kcatRun();
    const ceiling = (ceilingBefore + ceilingAfter) / 2;
    const sorted = [...http.latenciesMs].sort((a, b) => a - b);
    const acks = [...grpcRun.ackLatenciesMs].sort((a, b) => a - b);
    const grpcBatches = afterGrpc.batches - afterHttp.batches;
    const lines = [
      `bench:gateway on ${broker.brokers.join(',')} (Kafka ${broker.version}, ${PARTITIONS} partitions, acks=all)`,
      `  HTTP  ${http.events} events in ${http.seconds.toFixed(2)} s = ${round(httpRate)} events/s ` +
        `(${HTTP_CONCURRENCY} clients, batches of ${BATCH}; request p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms)`,
      `  gRPC  ${grpcRun.events} events in ${grpcRun.seconds.toFixed(2)} s = ${round(grpcRate)} events/s ` +
        `(${STREAMS} PublishStreams, ${GRPC_CLIENT} client; ack p50 ${percentile(acks, 50).toFixed(1)} ms, p99 ${percentile(acks, 99).toFixed(1)} ms)`,
      `  kcat  ${kcatRecords.length} records: ${round(ceilingBefore)} records/s before, ${round(ceilingAfter)} after; ceiling ${round(ceiling)} (same keys and values, no per-record headers)`,
      `  ratio best gateway path / ceiling = ${(Math.max(httpRate, grpcRate) / ceiling).toFixed(2)}`,
      `  Kafka produce requests: HTTP phase mean ${afterHttp.meanBatch.toFixed(0)} records, ${afterHttp.meanProduceMs.toFixed(1)} ms each (cumulative); ` +
        `gRPC phase ${grpcBatches} requests`,
      `  CPU per event: gateway ${perEvent(cpu0, cpu1, http.events, 0)} µs over HTTP, ${perEvent(cpu2, cpu3, grpcRun.events, 0)} µs over gRPC; ` +
        `load generator ${perEvent(cpu0, cpu1, http.events, 1)} µs / ${perEvent(cpu2, cpu3, grpcRun.events, 1)} µs`,
      `  verified with kcat: the gateway's topic holds ${written} records for ${expected} acknowledged events`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    gateway.child.kill('SIGTERM');
    await gateway.exited;
    if (profileDir !== undefined) {
      process.stdout.write(`  gateway CPU profile, self time (whole run incl. warm-up):\n${(await hottest(profileDir)).map((l) => `    ${l}`).join('\n')}\n`);
    }
    gateway = undefined;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'gateway',
        http_events_per_s: round(httpRate),
        grpc_events_per_s: round(grpcRate),
        ceiling_events_per_s: round(ceiling),
        ratio: round(Math.max(httpRate, grpcRate) / ceiling, 3),
        p50_ms: round(percentile(sorted, 50), 2),
        p99_ms: round(percentile(sorted, 99), 2),
      })}\n`,
    );
  } finally {
    gateway?.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    await broker.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:gateway failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
