/**
 * The gRPC edge: iocbus.indicators.v1.IndicatorService, grpc.health.v1 and server reflection, on a server
 * not yet bound. Subscribe messages are encoded by the hub (once per group of identical subscribers), so
 * the method's response serializer passes bytes through.
 */
import { constants as http2 } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from '@iocbus/telemetry';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { ViewConfig } from './config.js';
import { ViewError, toViewError } from './errors.js';
import { compileFilter } from './filter.js';
import type { Sink } from './hub.js';
import type { OutMessage } from './messages.js';
import { INDICATOR_SERVICE, filterFromProto, indicatorDefinitions, loadIndicatorsPackage, timestamp, toProtoValue } from './proto.js';
import { requireRuntime, type Serving } from './serving.js';

export interface GrpcServer {
  server: grpc.Server;
  health: HealthImplementation;
}

interface SubscribeRequest {
  filter?: Parameters<typeof filterFromProto>[0];
  resumeToken?: string;
  maxUpdatesPerSecond?: number;
}

function toServiceError(err: ViewError): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  metadata.set('iocbus-error-code', err.code);
  return Object.assign(new Error(err.message), { code: err.grpcStatus, details: err.message, metadata });
}

/**
 * The HTTP/2 stream under a grpc-js server call. grpc-js offers no way to reset a stream whose client
 * stopped reading (ending it waits for buffered data to flush, which never happens), so a stalled
 * subscriber is dropped with RST_STREAM through the call's internals; if they change shape, we fall back
 * to a graceful end.
 */
function http2StreamOf(call: object): { close(code: number): void; destroyed: boolean } | undefined {
  let c: unknown = (call as { call?: unknown }).call;
  for (let i = 0; i < 8 && c !== null && typeof c === 'object'; i++) {
    const stream = (c as { stream?: { close?: unknown; destroyed?: boolean } }).stream;
    if (stream !== undefined && typeof stream.close === 'function') return stream as { close(code: number): void; destroyed: boolean };
    c = (c as { nextCall?: unknown }).nextCall;
  }
  return undefined;
}

/**
 * grpc-js buffers 16 messages per call before write() returns false, whatever their size; a full
 * snapshot chunk is hundreds of kilobytes. The sink also counts bytes handed to grpc-js and not yet
 * flushed to HTTP/2 (each write's callback), and reports "full" above `maxBufferedBytes`, so a client
 * that stops reading pins at most that much plus one message.
 */
class GrpcSink implements Sink {
  readonly transport = 'grpc' as const;
  private ended = false;
  private buffered = 0;
  private drainWaiter: (() => void) | undefined;
  constructor(
    private readonly call: grpc.ServerWritableStream<SubscribeRequest, Buffer>,
    private readonly maxBufferedBytes: number,
  ) {
    call.on('drain', () => this.maybeDrained());
  }

  write(message: OutMessage): boolean {
    if (this.ended || this.call.cancelled) return true;
    const bytes = message.grpc();
    this.buffered += bytes.length;
    const ok = this.call.write(bytes, () => {
      this.buffered -= bytes.length;
      this.maybeDrained();
    });
    return ok && this.buffered <= this.maxBufferedBytes;
  }

  private maybeDrained(): void {
    if (this.drainWaiter === undefined || this.buffered > this.maxBufferedBytes / 2 || this.call.writableNeedDrain) return;
    const cb = this.drainWaiter;
    this.drainWaiter = undefined;
    cb();
  }

  onDrain(callback: () => void): void {
    this.drainWaiter = callback;
    this.maybeDrained();
  }

  end(error?: ViewError): void {
    if (this.ended) return;
    this.ended = true;
    if (this.call.cancelled) return;
    if (error === undefined) this.call.end();
    else this.call.emit('error', toServiceError(error));
  }

  abort(error: ViewError): void {
    if (this.ended) return;
    this.ended = true;
    const stream = http2StreamOf(this.call);
    if (stream !== undefined && !stream.destroyed) stream.close(http2.NGHTTP2_CANCEL);
    else this.call.emit('error', toServiceError(error));
  }
}

export function buildGrpcServer(serving: Serving, config: ViewConfig, logger: Logger): GrpcServer {
  const server = new grpc.Server({
    'grpc.max_send_message_length': config.grpc.maxMessageBytes,
    'grpc.keepalive_time_ms': config.grpc.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': config.grpc.keepaliveTimeoutMs,
    // Wall screens may sit on one idle stream for hours; let their own keepalive pings through.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5000,
  });
  const packageDefinition = loadIndicatorsPackage();
  const serviceDef = packageDefinition[INDICATOR_SERVICE] as grpc.ServiceDefinition;
  const subscribe = serviceDef.Subscribe as grpc.MethodDefinition<unknown, unknown>;
  // Bytes come pre-encoded from the hub; everything else still goes through proto-loader.
  const service: grpc.ServiceDefinition = { ...serviceDef, Subscribe: { ...subscribe, responseSerialize: (b: unknown) => b as Buffer } };
  const log = logger.child({ component: 'grpc' });

  const unary = <Req, Res>(name: string, handle: (request: Req) => Res) => {
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      try {
        callback(null, handle(call.request));
      } catch (error) {
        const err = toViewError(error);
        if (err.code === 'IOC_VIEW_INTERNAL') log.error({ err: error, method: name }, 'call failed');
        callback(toServiceError(err));
      }
    };
  };

  const implementation: grpc.UntypedServiceImplementation = {
    ListIndicators: unary('ListIndicators', () => ({ indicators: indicatorDefinitions() })),

    GetSnapshot: unary('GetSnapshot', (request: { filter?: SubscribeRequest['filter'] }) => {
      const { core } = requireRuntime(serving);
      const filter = compileFilter(filterFromProto(request.filter));
      const { watermarkMs } = serving.progress();
      return {
        values: core.snapshot(filter).map(toProtoValue),
        ...(watermarkMs === null ? {} : { watermark: timestamp(watermarkMs) }),
        resumeToken: core.headToken(filter),
        serverTime: timestamp(serving.now()),
      };
    }),

    Subscribe: (call: grpc.ServerWritableStream<SubscribeRequest, Buffer>) => {
      try {
        const { hub } = requireRuntime(serving);
        const request = call.request;
        const filter = compileFilter(filterFromProto(request.filter));
        const sink = new GrpcSink(call, config.subscribe.maxBufferedBytes);
        const sub = hub.subscribe(sink, {
          filter,
          ...(request.resumeToken === undefined ? {} : { resumeToken: request.resumeToken }),
          ...(request.maxUpdatesPerSecond === undefined ? {} : { maxUpdatesPerSecond: request.maxUpdatesPerSecond }),
        });
        const gone = (): void => hub.remove(sub);
        call.on('cancelled', gone);
        call.on('close', gone);
        call.on('error', gone);
      } catch (error) {
        const err = toViewError(error);
        if (err.code === 'IOC_VIEW_INTERNAL') log.error({ err: error, method: 'Subscribe' }, 'call failed');
        call.emit('error', toServiceError(err));
      }
    },
  };

  server.addService(service, implementation);
  const health = new HealthImplementation({ '': 'NOT_SERVING', [INDICATOR_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  // Reflection describes health too, so grpcurl and grpc_health_probe users see every service.
  const healthDefinition = protoLoader.loadSync(healthProtoPath, { keepCase: true });
  new ReflectionService({ ...packageDefinition, ...healthDefinition }).addToServer(server);
  return { server, health };
}
