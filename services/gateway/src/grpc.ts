import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { PROTO_DIR, PROTO_LOADER_OPTIONS } from '@iocbus/events';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { admit, refuseWhenClosing, type GatewayCore } from './core.js';
import { GatewayError, toGatewayError } from './errors.js';
import { principalOf, protoCandidate, toProtoResult, toServiceError } from './grpc-common.js';
import type { EventResult } from './ingest.js';
import { PublishStreamSession } from './publish-stream.js';
import { passEncoded } from './stream-ack.js';
import { streamRequestDeserializer } from './stream-request.js';

export const INGEST_PROTO_FILE = 'iocbus/ingest/v1/ingest_service.proto';
export const INGEST_SERVICE = 'iocbus.ingest.v1.IngestService';

export function loadIngestPackage(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(INGEST_PROTO_FILE, { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
}

export interface GrpcServer {
  server: grpc.Server;
  health: HealthImplementation;
  /** Stops reading every open PublishStream, acks what is in flight, then ends each with UNAVAILABLE. */
  closeStreams(): Promise<void>;
}

/** The gRPC edge: IngestService, grpc.health.v1 and server reflection, on a server not yet bound. */
export function buildGrpcServer(core: GatewayCore): GrpcServer {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': core.config.grpc.maxMessageBytes,
    'grpc.max_send_message_length': core.config.grpc.maxMessageBytes,
  });
  const packageDefinition = loadIngestPackage();
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    iocbus: { ingest: { v1: { IngestService: { service: grpc.ServiceDefinition } } } };
  };
  const sessions = new Set<PublishStreamSession>();
  const ingestDefinition = loaded.iocbus.ingest.v1.IngestService.service;
  const publishStream = ingestDefinition.PublishStream as grpc.MethodDefinition<unknown, unknown>;
  const streamDeserialize = streamRequestDeserializer(publishStream.requestDeserialize as (bytes: Buffer) => unknown);
  const log = core.logger.child({ component: 'grpc' });

  function observe(method: string, started: number, code: grpc.status): void {
    core.metrics.requestDuration.observe(
      { transport: 'grpc', route: method, status: grpc.status[code] ?? String(code) },
      (performance.now() - started) / 1000,
    );
  }

  function fail(method: string, started: number, error: unknown, callback: grpc.sendUnaryData<unknown>): void {
    const err = toGatewayError(error);
    if (err.code === 'IOC_GATEWAY_INTERNAL') log.error({ err: error, method }, 'call failed');
    observe(method, started, err.grpcStatus);
    callback(toServiceError(err));
  }

  const implementation: grpc.UntypedServiceImplementation = {
    Publish: (call: grpc.ServerUnaryCall<{ event?: unknown }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = performance.now();
      void (async () => {
        refuseWhenClosing(core);
        const principal = await principalOf(core, call.metadata);
        admit(core, principal, 1);
        const outcome = await core.ingestor.ingest(principal, [protoCandidate(call.request.event ?? {})], 'grpc');
        if (outcome.error !== undefined) throw outcome.error;
        const result = outcome.results[0] as EventResult;
        if (result.status === 'rejected') {
          // One event: its rejection is the call's outcome, as HTTP answers 400/403 for /v1/events.
          throw new GatewayError(result.code ?? 'IOC_GATEWAY_VALIDATION', result.message ?? 'invalid event', {
            problems: result.problems ?? [],
          });
        }
        observe('Publish', started, grpc.status.OK);
        callback(null, { result: toProtoResult(result) });
      })().catch((err: unknown) => fail('Publish', started, err, callback));
    },

    PublishBatch: (call: grpc.ServerUnaryCall<{ events?: unknown[] }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = performance.now();
      void (async () => {
        refuseWhenClosing(core);
        const principal = await principalOf(core, call.metadata);
        const events = call.request.events ?? [];
        const max = core.config.limits.maxBatchEvents;
        if (events.length === 0) throw new GatewayError('IOC_GATEWAY_INVALID_BATCH', 'the batch is empty');
        if (events.length > max) {
          throw new GatewayError('IOC_GATEWAY_BATCH_TOO_LARGE', `a batch holds at most ${max} events, got ${events.length}`);
        }
        admit(core, principal, events.length);
        const candidates = events.map((e, i) => {
          const c = protoCandidate(e);
          return c.ok ? c : { ...c, problems: c.problems.map((p) => ({ ...p, path: p.path.replace(/^\$/, `$.events[${i}]`) })) };
        });
        const outcome = await core.ingestor.ingest(principal, candidates, 'grpc');
        if (outcome.error !== undefined) throw outcome.error;
        observe('PublishBatch', started, grpc.status.OK);
        callback(null, { results: outcome.results.map(toProtoResult) });
      })().catch((err: unknown) => fail('PublishBatch', started, err, callback));
    },

    PublishStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      const session = new PublishStreamSession(
        core,
        call,
        (code) => {
          sessions.delete(session);
          observe('PublishStream', session.startedAt, code);
        },
        streamDeserialize,
      );
      sessions.add(session);
      session.start();
    },
  };

  // PublishStream's acks of accepted and duplicate events arrive already encoded (stream-ack.ts), and its
  // requests are read straight into validated candidates (stream-request.ts).
  const streamSerialize = passEncoded(publishStream.responseSerialize as (value: unknown) => Buffer);
  server.addService(
    { ...ingestDefinition, PublishStream: { ...publishStream, responseSerialize: streamSerialize, requestDeserialize: streamDeserialize } },
    implementation,
  );
  const health = new HealthImplementation({ '': 'NOT_SERVING', [INGEST_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  // Reflection describes health too, so grpcurl and grpc_health_probe users see every service.
  const healthDefinition = protoLoader.loadSync(healthProtoPath, { keepCase: true });
  new ReflectionService({ ...packageDefinition, ...healthDefinition }).addToServer(server);

  return {
    server,
    health,
    closeStreams: async () => {
      await Promise.all([...sessions].map((s) => s.shutdown()));
    },
  };
}
