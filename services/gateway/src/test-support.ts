/**
 * Helpers for the gateway's tests: sample events, keys, and a gateway wired to a given EventLog.
 * Shared by the in-process tests here and the Kafka tests under test/gateway/.
 */
import * as http2 from 'node:http2';
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fromKafkaRecord, type DossierEvent } from '@iocbus/events';
import { createLogger, createRegistry, type Logger, type Registry } from '@iocbus/telemetry';
import { createInProcessBus, type AppendedRecord, type BusRecord, type EventLog } from '@iocbus/bus';
import { generateApiKey, type ApiKeyEntry } from './api-keys.js';
import { createGateway, type Gateway, type GatewayDeps } from './app.js';
import { gatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './config.js';
import { loadIngestPackage } from './grpc.js';
import type { KafkaProbe } from './kafka-health.js';

export const SOURCE = '/agencies/H21.17/igate';
export const UNIT = 'H21.17';

let counter = 0;

/** A valid `received` event in JSON structured form; every call gets a fresh id and dossier code. */
export function sampleEvent(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  const dossierCode = `H21.17-250701-${String(counter).padStart(6, '0')}`;
  return {
    specversion: '1.0',
    id: `evt-${process.pid}-${Date.now()}-${counter}`,
    source: SOURCE,
    type: 'vn.gov.tthc.dossier.received',
    time: '2025-07-01T08:00:00+07:00',
    subject: dossierCode,
    datacontenttype: 'application/json',
    data: {
      dossierCode,
      procedureCode: '1.001234',
      unitCode: UNIT,
      occurredAt: '2025-07-01T08:00:00+07:00',
      receivedAt: '2025-07-01T08:00:00+07:00',
      dueAt: '2025-07-05T17:00:00+07:00',
      channel: 'online',
      applicantType: 'citizen',
      ...data,
    },
    ...overrides,
  };
}

export interface TestKeys {
  entries: ApiKeyEntry[];
  /** May publish for SOURCE / UNIT only. */
  agency: string;
  /** May publish for another agency only. */
  other: string;
  /** Tiny rate limit: 3 events, 1 per second. */
  slow: string;
  /** Anything, at a high rate (benchmarks, load tests). */
  admin: string;
}

export async function testKeys(): Promise<TestKeys> {
  const agency = await generateApiKey('agency');
  const other = await generateApiKey('other');
  const slow = await generateApiKey('slow');
  const admin = await generateApiKey('admin');
  return {
    entries: [
      { id: 'agency', hash: agency.hash, sources: [SOURCE], units: [UNIT] },
      { id: 'other', hash: other.hash, sources: ['/agencies/H21.18/*'], units: ['H21.18'] },
      { id: 'slow', hash: slow.hash, sources: [SOURCE], units: [UNIT], rate: { eventsPerSecond: 1, burst: 3 } },
      { id: 'admin', hash: admin.hash, sources: ['*'], units: ['*'], rate: { eventsPerSecond: 10_000_000, burst: 10_000_000 } },
    ],
    agency: agency.key,
    other: other.key,
    slow: slow.key,
    admin: admin.key,
  };
}

/** Config for tests: short timings, the given topic and brokers; the key file is not read (keys are injected). */
export function testConfig(topic: string, overrides: Omit<GatewayConfigInput, 'kafka' | 'auth'> & { kafka?: Partial<GatewayConfigInput['kafka']> } = {}): GatewayConfig {
  const { kafka, ...rest } = overrides;
  return gatewayConfigSchema.parse({
    log: { level: 'silent' },
    shutdown: { timeoutMs: 5000 },
    ...rest,
    kafka: { brokers: ['127.0.0.1:9'], topic, produceTimeoutMs: 3000, probeIntervalMs: 200, ...kafka },
    auth: { keysFile: '(injected)' },
  });
}

export interface TestGateway {
  gateway: Gateway;
  registry: Registry;
  logger: Logger;
}

export function buildTestGateway(
  config: GatewayConfig,
  keys: TestKeys,
  eventLog: EventLog,
  probe: KafkaProbe,
  extra: Partial<GatewayDeps> = {},
): TestGateway {
  const registry = createRegistry({ defaultMetrics: false });
  const logger = createLogger({ service: 'gateway', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const gateway = createGateway({ config, apiKeys: keys.entries, eventLog, probe, logger, registry, ...extra });
  return { gateway, registry, logger };
}

/**
 * A gateway over an in-process bus (a 4-partition `topic`) with a raw HTTP/2 session to its gRPC port, for the
 * tests that speak PublishStream frames themselves; `onTopic` reads back what landed. Closed after the test.
 */
export async function gatewayWithH2Session(
  t: TestContext,
  topic: string,
  keys: TestKeys,
  grpcConfig: NonNullable<GatewayConfigInput['grpc']>,
): Promise<{ session: http2.ClientHttp2Session; grpcPort: number; onTopic: () => Promise<DossierEvent[]> }> {
  const bus = createInProcessBus();
  await bus.admin.ensureTopics([{ name: topic, partitions: 4 }]);
  const { gateway } = buildTestGateway(testConfig(topic, { grpc: grpcConfig }), keys, bus.log, async () => {
    await bus.admin.partitionCount(topic);
  });
  const { grpcPort } = await gateway.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  const session = http2.connect(`http://127.0.0.1:${grpcPort}`);
  t.after(async () => {
    session.close();
    await gateway.close();
  });
  const onTopic = async () => (await bus.source.readToEnd(topic)).map((r) => fromKafkaRecord(r));
  return { session, grpcPort, onTopic };
}

export interface MatrixRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface MatrixCase {
  name: string;
  /** Requests sent first (their answers are not checked); e.g. to empty a rate bucket. */
  before?: MatrixRequest[];
  request: MatrixRequest;
  status: number;
  code: string;
  /** Must match the error message. */
  message: RegExp;
  /** Paths that must be among the reported problems. */
  paths?: string[];
}

const STRUCTURED = 'application/cloudevents+json';

function post(key: string | undefined, body: unknown, contentType = STRUCTURED, url = '/v1/events'): MatrixRequest {
  return {
    url,
    headers: { 'content-type': contentType, ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/**
 * Every way a request can be refused (SPEC §1 "Rules the gateway enforces"), with the status, code and
 * message each must get. Used in-process and against the real broker (where the topic must stay empty).
 */
export function errorMatrix(keys: TestKeys, bodyLimitBytes: number): MatrixCase[] {
  const e = () => sampleEvent();
  const without = (field: string) => {
    const ev = e();
    delete ev[field];
    return ev;
  };
  const withoutData = (field: string) => {
    const ev = e();
    delete (ev.data as Record<string, unknown>)[field];
    return ev;
  };
  const cases: MatrixCase[] = [
    { name: 'malformed JSON', request: post(keys.agency, '{"specversion": "1.0", "id": '), status: 400, code: 'IOC_GATEWAY_MALFORMED_JSON', message: /not valid JSON/ },
    { name: 'unknown type', request: post(keys.agency, { ...e(), type: 'vn.gov.tthc.dossier.teleported' }), status: 400, code: 'IOC_GATEWAY_VALIDATION', message: /known dossier event type/, paths: ['$.type'] },
    { name: 'timestamp without offset', request: post(keys.agency, { ...e(), time: '2025-07-01T08:00:00' }), status: 400, code: 'IOC_GATEWAY_VALIDATION', message: /no UTC offset/, paths: ['$.time'] },
    { name: 'subject is not data.dossierCode', request: post(keys.agency, { ...e(), subject: 'H21.17-OTHER' }), status: 400, code: 'IOC_GATEWAY_VALIDATION', message: /subject must equal data\.dossierCode/, paths: ['$.subject'] },
    { name: 'wrong types', request: post(keys.agency, sampleEvent({}, { unitCode: 17, channel: 'pigeon', components: 'all' })), status: 400, code: 'IOC_GATEWAY_VALIDATION', message: /and 2 more problems/, paths: ['$.data.unitCode', '$.data.channel', '$.data.components'] },
    { name: 'oversize body', request: post(keys.agency, { ...e(), padding: 'x'.repeat(bodyLimitBytes) }), status: 413, code: 'IOC_GATEWAY_BODY_TOO_LARGE', message: /larger than the limit/ },
    { name: 'wrong content type', request: post(keys.agency, e(), 'text/plain'), status: 415, code: 'IOC_GATEWAY_UNSUPPORTED_MEDIA_TYPE', message: /unsupported content type "text\/plain"/ },
    { name: 'plain JSON without ce-* headers', request: post(keys.agency, e(), 'application/json'), status: 415, code: 'IOC_GATEWAY_UNSUPPORTED_MEDIA_TYPE', message: /binary mode/ },
    { name: 'batch content type on the single-event route', request: post(keys.agency, [e()], 'application/cloudevents-batch+json'), status: 415, code: 'IOC_GATEWAY_UNSUPPORTED_MEDIA_TYPE', message: /unsupported content type/ },
    { name: 'no key', request: post(undefined, e()), status: 401, code: 'IOC_GATEWAY_UNAUTHENTICATED', message: /missing API key/ },
    { name: 'a wrong key', request: post(`agency.${'A'.repeat(43)}`, e()), status: 401, code: 'IOC_GATEWAY_UNAUTHENTICATED', message: /invalid API key/ },
    { name: 'a malformed Authorization header', request: { ...post(keys.agency, e()), headers: { 'content-type': STRUCTURED, authorization: `Basic ${keys.agency}` } }, status: 401, code: 'IOC_GATEWAY_UNAUTHENTICATED', message: /missing API key/ },
    { name: 'a key publishing for another unit and source', request: post(keys.other, e()), status: 403, code: 'IOC_GATEWAY_FORBIDDEN', message: /may not publish for source/, paths: ['$.source', '$.data.unitCode'] },
    { name: 'a key publishing for another unit only', request: post(keys.agency, sampleEvent({}, { unitCode: 'H21.18' })), status: 403, code: 'IOC_GATEWAY_FORBIDDEN', message: /may not publish for unit "H21\.18"/, paths: ['$.data.unitCode'] },
    {
      name: 'over the rate',
      before: [post(keys.slow, [without('id'), without('source'), without('time')], 'application/cloudevents-batch+json', '/v1/events:batch')],
      request: post(keys.slow, e()),
      status: 429,
      code: 'IOC_GATEWAY_RATE_LIMITED',
      message: /over the rate limit/,
    },
    { name: 'a batch that is not an array', request: post(keys.agency, e(), 'application/cloudevents-batch+json', '/v1/events:batch'), status: 400, code: 'IOC_GATEWAY_INVALID_BATCH', message: /JSON array/ },
    { name: 'an empty batch', request: post(keys.agency, [], 'application/cloudevents-batch+json', '/v1/events:batch'), status: 400, code: 'IOC_GATEWAY_INVALID_BATCH', message: /empty/ },
    { name: 'a batch over 1000 events', request: post(keys.agency, Array.from({ length: 1001 }, () => ({})), 'application/cloudevents-batch+json', '/v1/events:batch'), status: 413, code: 'IOC_GATEWAY_BATCH_TOO_LARGE', message: /at most 1000 events, got 1001/ },
  ];
  for (const field of ['specversion', 'id', 'source', 'type', 'time', 'subject', 'data']) {
    cases.push({ name: `missing ${field}`, request: post(keys.agency, without(field)), status: 400, code: 'IOC_GATEWAY_VALIDATION', message: /is required/, paths: [`$.${field}`] });
  }
  for (const field of ['dossierCode', 'procedureCode', 'unitCode', 'occurredAt', 'receivedAt', 'dueAt', 'channel', 'applicantType']) {
    cases.push({ name: `missing data.${field}`, request: post(keys.agency, withoutData(field)), status: 400, code: 'IOC_GATEWAY_VALIDATION', message: /is required/, paths: [`$.data.${field}`] });
  }
  return cases;
}

/** A gRPC client of IngestService built from the same proto files (what an integrator would generate). */
export function ingestClient(port: number, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(), options: grpc.ClientOptions = {}): IngestClient {
  const loaded = grpc.loadPackageDefinition(loadIngestPackage()) as unknown as {
    iocbus: { ingest: { v1: { IngestService: grpc.ServiceClientConstructor } } };
  };
  return new loaded.iocbus.ingest.v1.IngestService(`127.0.0.1:${port}`, credentials, options) as unknown as IngestClient;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  callback: (err: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

export interface ProtoEventResult {
  id: string;
  source: string;
  status: string;
  problems?: { path: string; message: string }[];
  code?: string;
}

export interface StreamResponse {
  ack?: { sequence: number; result: ProtoEventResult };
  flowControl?: { maxInFlight: number; ackedThrough: number; maxEventBytes: number; retryAfterMs?: number };
}

export interface IngestClient extends grpc.Client {
  Publish: Unary<{ event: unknown }, { result: ProtoEventResult }>;
  PublishBatch: Unary<{ events: unknown[] }, { results: ProtoEventResult[] }>;
  PublishStream(metadata: grpc.Metadata): grpc.ClientDuplexStream<{ sequence: number; event: unknown }, StreamResponse>;
}

export function bearer(key: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (key !== undefined) metadata.set('authorization', `Bearer ${key}`);
  return metadata;
}

export function callUnary<Req, Res>(method: Unary<Req, Res>, client: grpc.Client, request: Req, metadata: grpc.Metadata): Promise<Res> {
  return new Promise((resolve, reject) =>
    method.call(client, request, metadata, (err, res) => (err ? reject(err) : resolve(res as Res))),
  );
}

/** The problems a refused gRPC call carries in its `iocbus-problems-bin` trailer. */
export function trailerProblems(err: grpc.ServiceError): { path: string; message: string }[] {
  const raw = err.metadata?.get('iocbus-problems-bin')[0];
  return raw === undefined ? [] : (JSON.parse(Buffer.from(raw as Buffer).toString('utf8')) as { path: string; message: string }[]);
}

/** The in-process log with a hand on its throat: appends wait for release() or fail on fail(). */
export class GatedLog implements EventLog {
  readonly sizes: number[] = [];
  private gates: { release: () => void; fail: (err: unknown) => void }[] = [];
  gated = false;

  constructor(private readonly inner: EventLog) {}

  async append(topic: string, records: readonly BusRecord[]): Promise<AppendedRecord[]> {
    this.sizes.push(records.length);
    if (this.gated) {
      await new Promise<void>((release, fail) => this.gates.push({ release, fail }));
    }
    return this.inner.append(topic, records);
  }

  knownPartitionCount(topic: string): number | undefined {
    return this.inner.knownPartitionCount?.(topic);
  }

  release(): void {
    this.gated = false;
    for (const g of this.gates.splice(0)) g.release();
  }

  failAll(err: unknown): void {
    for (const g of this.gates.splice(0)) g.fail(err);
  }

  get waiting(): number {
    return this.gates.length;
  }

  async close(): Promise<void> {}
}

