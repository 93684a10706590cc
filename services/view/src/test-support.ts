/**
 * Helpers for the view's tests and the fan-out benchmark: partials-topic records built by hand, a view
 * over an in-process bus on free ports, and independent clients (grpc-js loaded from the .proto, a raw
 * SSE reader) that record what they receive.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { BusRecord, PartitionedSource } from '@iocbus/bus';
import { createInProcessBus, type InProcessBus } from '@iocbus/bus';
import { parseCatalog, type Catalog } from '@iocbus/catalog';
import {
  MEASURE_COUNT,
  encodeProgress,
  measureIndex,
  partialKey,
  partialRecordKey,
  progressRecordKey,
  windowRef,
  encodePartialRecordValue,
  type IndicatorPartial,
  type MeasureName,
  type ScopeRef,
  type WindowKind,
} from '@iocbus/engine';
import { createLogger, createRegistry } from '@iocbus/telemetry';
import { viewConfigSchema, type ViewConfig } from './config.js';
import { loadIndicatorsPackage } from './proto.js';
import { createView, type Clock, type View } from './view.js';

export const testCatalog: Catalog = parseCatalog(
  {
    format: 'iocbus.catalog/v1',
    version: 'view-test-1',
    sample: true,
    province: { code: 'H21', name: 'Test province' },
    units: [
      { code: 'H21.17', name: 'Sở Tư pháp', group: 'department', parent: 'H21' },
      { code: 'H21.18', name: 'Sở Xây dựng', group: 'department', parent: 'H21' },
      { code: 'H21.227', name: 'UBND xã Phú Lộc', group: 'commune', parent: 'H21' },
    ],
    procedures: [{ code: '1.001193', name: 'Đăng ký khai sinh', sectorCode: 'G09-TP01', onlineLevel: 'full', paperResultRequired: false, fee: 0 }],
  },
  'view-test',
);

/** 2025-03-14 10:30 local time (UTC+7). */
export const NOW = Date.parse('2025-03-14T10:30:00+07:00');
export const DAY = Math.floor((NOW / 1000 + 7 * 3600) / 86_400);
export const MINUTE = Math.floor(NOW / 60_000);

export class ManualClock implements Clock {
  constructor(public t: number = NOW) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export const province: ScopeRef = { kind: 'province', code: 'H21' };
export const unit = (code: string): ScopeRef => ({ kind: 'unit', code, ...(code === 'H21.227' ? { group: 'commune' } : { group: 'department' }) });

/** A partial with the given measures (others 0). `index` is the window number (day: DAY, minute: MINUTE…). */
export function partial(kind: WindowKind, index: number, scope: ScopeRef, measures: Partial<Record<MeasureName, number>>, flags: { closed?: boolean; revised?: boolean } = {}): IndicatorPartial {
  const m = new Float64Array(MEASURE_COUNT);
  for (const [name, v] of Object.entries(measures)) m[measureIndex(name as MeasureName)] = v as number;
  const window = windowRef(kind, index);
  return { key: partialKey({ window, scope }), window, scope, measures: m, sketch: null, closed: flags.closed ?? false, revised: flags.revised ?? false };
}

/** `received` partial: n received, of which `online` online. */
export const received = (kind: WindowKind, index: number, scope: ScopeRef, n: number, online = 0): IndicatorPartial =>
  partial(kind, index, scope, { received: n, channel_online: online, channel_direct: n - online, events_received_family: n });

export function partialRecord(inputPartition: number, p: IndicatorPartial): BusRecord {
  return { key: partialRecordKey(inputPartition, partialKey(p)), value: Buffer.from(encodePartialRecordValue(p)), headers: {} };
}

export function removedRecord(inputPartition: number, p: IndicatorPartial): BusRecord {
  return { key: partialRecordKey(inputPartition, partialKey(p)), value: Buffer.alloc(0), headers: {} };
}

export function progressRecord(inputPartition: number, inputPartitions: number, watermarkMs: number | null, updatedAtMs: number, offset = '0'): BusRecord {
  return {
    key: progressRecordKey(inputPartition),
    value: Buffer.from(encodeProgress({ inputPartition, inputPartitions, offset, watermarkMs, clockMs: updatedAtMs, updatedAtMs, sources: [], sourcesOmitted: 0 })),
    headers: {},
  };
}

export function testConfig(overrides: Record<string, Record<string, unknown>> = {}): ViewConfig {
  const s = (name: string, base: Record<string, unknown>) => ({ ...base, ...(overrides[name] ?? {}) });
  return viewConfigSchema.parse({
    ...overrides,
    http: s('http', { host: '127.0.0.1', port: 0 }),
    grpc: s('grpc', { host: '127.0.0.1', port: 0 }),
    partials: s('partials', { topic: 'partials' }),
    subscribe: s('subscribe', { heartbeatMs: 200 }),
    shutdown: s('shutdown', { timeoutMs: 2000 }),
    log: s('log', { level: 'silent' }),
  });
}

export interface TestView {
  view: View;
  httpPort: number;
  grpcPort: number;
  close(): Promise<void>;
}

/** A view over `source`, started, listening on free ports, ready. */
export async function startView(source: PartitionedSource, options: { config?: ViewConfig; clock?: Clock; catalog?: Catalog } = {}): Promise<TestView> {
  const config = options.config ?? testConfig();
  const view = createView({
    config,
    source,
    catalog: options.catalog ?? testCatalog,
    logger: createLogger({ service: 'view', level: config.log.level }),
    registry: createRegistry({ defaultMetrics: false }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const { httpPort, grpcPort } = await view.listen();
  await view.start();
  await view.ready;
  return { view, httpPort, grpcPort, close: () => view.close() };
}

/** An in-process bus with the partials topic created. */
export async function partialsBus(topic = 'partials', partitions = 3): Promise<InProcessBus> {
  const bus = createInProcessBus();
  await bus.admin.ensureTopics([{ name: topic, partitions, config: { 'cleanup.policy': 'compact' } }]);
  return bus;
}

// ---------------------------------------------------------------------------------------------------
// Clients

export type IndicatorClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** An IndicatorService client built from the .proto alone (independent of the server's code paths). */
export function grpcClient(port: number, options: grpc.ChannelOptions = {}): IndicatorClient {
  const loaded = grpc.loadPackageDefinition(loadIndicatorsPackage()) as unknown as {
    iocbus: { indicators: { v1: { IndicatorService: grpc.ServiceClientConstructor } } };
  };
  return new loaded.iocbus.indicators.v1.IndicatorService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options) as unknown as IndicatorClient;
}

export function unaryCall<T>(client: IndicatorClient, method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    (client[method] as (req: unknown, cb: (err: grpc.ServiceError | null, res: T) => void) => void).call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export interface StreamMessage {
  resumeToken: string;
  kind?: 'snapshot' | 'delta' | 'heartbeat' | 'reset';
  snapshot?: { values?: ProtoValue[]; more?: boolean; watermark?: unknown };
  delta?: { values?: ProtoValue[]; removed?: { indicatorId: string; window: { kind: string; label: string }; scope: { kind: string; key: string } }[] };
  heartbeat?: { watermark?: { seconds: number; nanos: number }; serverTime?: unknown; progressTime?: unknown };
  reset?: { reason: string; cause: string };
}

export interface ProtoValue {
  indicatorId: string;
  window: { kind: string; label: string; current?: boolean };
  scope: { kind: string; key: string; unitGroup?: string; name?: string };
  value?: number;
  numerator?: number;
  denominator?: number;
  eventCount?: number;
}

export interface RecordedStream {
  call: grpc.ClientReadableStream<StreamMessage>;
  messages: StreamMessage[];
  /** Client-side copy of the state: value key → value, built from snapshot/delta/reset. */
  state: Map<string, ProtoValue>;
  error: grpc.ServiceError | undefined;
  ended: boolean;
  lastToken(): string;
}

export const protoKey = (v: { indicatorId: string; window: { kind: string; label: string }; scope: { kind: string; key: string } }): string =>
  `${v.indicatorId}|${v.window.kind}:${v.window.label}|${v.scope.kind}:${v.scope.key}`;

/** Subscribes and applies every message to a client-side state, as a wall screen would. */
export function recordStream(client: IndicatorClient, request: Record<string, unknown>): RecordedStream {
  const call = (client.subscribe as (req: unknown) => grpc.ClientReadableStream<StreamMessage>).call(client, request);
  const rec: RecordedStream = {
    call,
    messages: [],
    state: new Map(),
    error: undefined,
    ended: false,
    lastToken: () => rec.messages[rec.messages.length - 1]?.resumeToken ?? '',
  };
  let inSnapshot = false;
  call.on('data', (m: StreamMessage) => {
    rec.messages.push(m);
    if (m.kind === 'reset') rec.state.clear();
    if (m.kind === 'snapshot') {
      if (!inSnapshot) rec.state.clear();
      inSnapshot = m.snapshot?.more === true;
      for (const v of m.snapshot?.values ?? []) rec.state.set(protoKey(v), v);
    }
    if (m.kind === 'delta') {
      for (const v of m.delta?.values ?? []) rec.state.set(protoKey(v), v);
      for (const k of m.delta?.removed ?? []) rec.state.delete(protoKey(k));
    }
  });
  call.on('error', (err: grpc.ServiceError) => (rec.error = err));
  call.on('end', () => (rec.ended = true));
  return rec;
}

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

export interface SseStream {
  events: SseEvent[];
  comments: string[];
  response: IncomingMessage | undefined;
  ended: boolean;
  close(): void;
}

/** A minimal SSE reader (text/event-stream framing per the HTML spec), not EventSource. */
export function readSse(port: number, path: string, headers: Record<string, string> = {}): SseStream {
  const stream: SseStream = { events: [], comments: [], response: undefined, ended: false, close: () => req.destroy() };
  const req = httpRequest({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
    stream.response = res;
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let at = buf.indexOf('\n\n'); at >= 0; at = buf.indexOf('\n\n')) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        let id: string | undefined;
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) stream.comments.push(line.slice(1).trim());
          else if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) stream.events.push({ id, event, data: JSON.parse(data.join('\n')) });
      }
    });
    res.on('end', () => (stream.ended = true));
    res.on('close', () => (stream.ended = true));
  });
  req.on('error', () => (stream.ended = true));
  req.end();
  return stream;
}
