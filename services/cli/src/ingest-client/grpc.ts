/**
 * gRPC ingest client: iocbus.ingest.v1.IngestService/PublishBatch. Events are validated here with the same
 * parser the gateway uses, because an invalid event has no protobuf form to send; the gateway still
 * decides everything else (authorisation, duplicates).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_DIR, PROTO_LOADER_OPTIONS, parseCloudEvent, toProtoCloudEvent } from '@iocbus/events';
import type { BatchAnswer, EventOutcome, IngestClient, Problem } from './outcome.js';

const INGEST_PROTO_FILE = 'iocbus/ingest/v1/ingest_service.proto';

export interface GrpcIngestClientOptions {
  /** host:port of the gateway's gRPC listener. */
  address: string;
  apiKey: string;
  /** Use TLS with the system roots (default: plaintext). */
  tls?: boolean;
  /** Per-call deadline; default 60 s. */
  timeoutMs?: number;
}

interface ProtoResult {
  id?: string;
  source?: string;
  status?: string;
  code?: string;
  problems?: Problem[];
}

type PublishBatch = (
  request: { events: unknown[] },
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: { results?: ProtoResult[] }) => void,
) => grpc.ClientUnaryCall;

function loadClientConstructor(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(INGEST_PROTO_FILE, { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    iocbus: { ingest: { v1: { IngestService: grpc.ServiceClientConstructor } } };
  };
  return loaded.iocbus.ingest.v1.IngestService;
}

function answerForError(err: grpc.ServiceError): BatchAnswer {
  const code = err.metadata?.get('iocbus-error-code')[0];
  const iocCode = typeof code === 'string' ? code : undefined;
  const after = Number(err.metadata?.get('retry-after-ms')[0]);
  const reason = `gRPC ${grpc.status[err.code] ?? err.code}${iocCode !== undefined ? ` ${iocCode}` : ''}: ${err.details || err.message}`;
  if (iocCode === 'IOC_GATEWAY_BODY_TOO_LARGE' || iocCode === 'IOC_GATEWAY_BATCH_TOO_LARGE') return { kind: 'too_large', reason };
  switch (err.code) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.RESOURCE_EXHAUSTED:
    case grpc.status.ABORTED:
      return Number.isFinite(after) && after >= 0 ? { kind: 'retry', reason, retryAfterMs: after } : { kind: 'retry', reason };
    default:
      return { kind: 'fatal', reason, ...(iocCode !== undefined ? { code: iocCode } : {}) };
  }
}

export function createGrpcIngestClient(options: GrpcIngestClientOptions): IngestClient {
  const Client = loadClientConstructor();
  const credentials = options.tls === true ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const client = new Client(options.address, credentials, {
    'grpc.max_send_message_length': 16 * 1024 * 1024,
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  const publishBatch = (client as unknown as { PublishBatch: PublishBatch }).PublishBatch.bind(client);
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function send(events: readonly unknown[], signal?: AbortSignal): Promise<BatchAnswer> {
    const outcomes: (EventOutcome | undefined)[] = new Array(events.length);
    const wire: unknown[] = [];
    const positions: number[] = [];
    events.forEach((input, i) => {
      const parsed = parseCloudEvent(input);
      if (parsed.ok) {
        wire.push(toProtoCloudEvent(parsed.event));
        positions.push(i);
      } else {
        const o = (typeof input === 'object' && input !== null ? input : {}) as { id?: unknown; source?: unknown };
        outcomes[i] = {
          id: typeof o.id === 'string' ? o.id : '',
          source: typeof o.source === 'string' ? o.source : '',
          status: 'rejected',
          code: 'IOC_GATEWAY_VALIDATION',
          message: 'invalid event (checked before sending over gRPC)',
          problems: parsed.problems,
        };
      }
    });
    if (wire.length > 0) {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${options.apiKey}`);
      const answer = await new Promise<BatchAnswer | ProtoResult[]>((resolve) => {
        const call = publishBatch({ events: wire }, metadata, { deadline: Date.now() + timeoutMs }, (err, response) => {
          signal?.removeEventListener('abort', cancel);
          if (err !== null) resolve(answerForError(err));
          else resolve(response?.results ?? []);
        });
        const cancel = (): void => call.cancel();
        signal?.addEventListener('abort', cancel, { once: true });
      });
      if (!Array.isArray(answer)) {
        if (signal?.aborted) throw signal.reason;
        return answer;
      }
      if (answer.length !== wire.length) return { kind: 'fatal', reason: `gateway answered ${answer.length} results for ${wire.length} events` };
      answer.forEach((r, k) => {
        const status = r.status === 'EVENT_STATUS_ACCEPTED' ? 'accepted' : r.status === 'EVENT_STATUS_DUPLICATE' ? 'duplicate' : 'rejected';
        const out: EventOutcome = { id: r.id ?? '', source: r.source ?? '', status };
        if (status === 'rejected') {
          out.code = r.code || 'IOC_GATEWAY_VALIDATION';
          out.problems = r.problems ?? [];
        }
        outcomes[positions[k] as number] = out;
      });
    }
    return { kind: 'done', outcomes: outcomes as EventOutcome[] };
  }

  return {
    target: `grpc://${options.address}`,
    send,
    close: async () => client.close(),
  };
}
