import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { fromProtoCloudEvent } from '@iocbus/events';
import { bearerToken, type Principal } from './api-keys.js';
import { authenticate, type GatewayCore } from './core.js';
import type { GatewayError } from './errors.js';
import { idAndSource, type Candidate, type EventResult } from './ingest.js';

/**
 * A GatewayError as a gRPC status. Trailers carry what HTTP puts in the body: the iocbus error code, the
 * problems (JSON, UTF-8, so a `-bin` key) and, for 429/503 equivalents, `retry-after-ms`.
 */
export function toServiceError(err: GatewayError): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set('iocbus-error-code', err.code);
  if (err.retryAfterMs !== undefined) metadata.set('retry-after-ms', String(err.retryAfterMs));
  if (err.problems.length > 0) metadata.set('iocbus-problems-bin', Buffer.from(JSON.stringify(err.problems), 'utf8'));
  return Object.assign(new Error(err.message), { code: err.grpcStatus, details: err.message, metadata });
}

/** EventResult as the proto message (enum by name, problems always present). */
export function toProtoResult(result: EventResult): Record<string, unknown> {
  return {
    id: result.id,
    source: result.source,
    status: `EVENT_STATUS_${result.status.toUpperCase()}`,
    problems: result.problems ?? [],
    code: result.status === 'rejected' ? (result.code ?? '') : '',
  };
}

export function protoCandidate(message: unknown): Candidate {
  const parsed = fromProtoCloudEvent(message);
  return parsed.ok ? parsed : { ok: false, ...idAndSource(message), problems: parsed.problems };
}

/** The caller's API key from `authorization: Bearer <key>` metadata. */
export async function principalOf(core: GatewayCore, metadata: Metadata): Promise<Principal> {
  const value = metadata.get('authorization')[0];
  return authenticate(core, typeof value === 'string' ? bearerToken(value) : undefined);
}
