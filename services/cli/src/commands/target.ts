/** Options shared by the commands that send events: where to (HTTP or gRPC) and with which key. */
import { createGrpcIngestClient } from '../ingest-client/grpc.js';
import { createHttpIngestClient } from '../ingest-client/http.js';
import type { IngestClient } from '../ingest-client/outcome.js';
import { UsageError, hostPort } from '../util/args.js';

export const TARGET_OPTIONS = {
  http: { type: 'string' },
  grpc: { type: 'string' },
  tls: { type: 'boolean' },
  'api-key': { type: 'string' },
} as const;

export const TARGET_USAGE = `Target:
  --http URL          gateway HTTP base URL (default $IOCBUS_GATEWAY_URL or http://127.0.0.1:8080)
  --grpc HOST:PORT    send over gRPC (IngestService.PublishBatch) instead of HTTP
  --tls               use TLS for --grpc
  --api-key KEY       API key (default $IOCBUS_API_KEY)`;

export function clientFromOptions(values: { http?: string; grpc?: string; tls?: boolean; 'api-key'?: string }, env = process.env): IngestClient {
  const apiKey = values['api-key'] ?? env.IOCBUS_API_KEY;
  if (apiKey === undefined || apiKey === '') throw new UsageError('an API key is required: --api-key KEY or IOCBUS_API_KEY (iocbus start prints one)');
  if (values.http !== undefined && values.grpc !== undefined) throw new UsageError('--http and --grpc are alternatives; give one');
  const grpc = hostPort('grpc', values.grpc);
  if (grpc !== undefined) return createGrpcIngestClient({ address: grpc, apiKey, tls: values.tls === true });
  const url = values.http ?? env.IOCBUS_GATEWAY_URL ?? 'http://127.0.0.1:8080';
  if (!URL.canParse(url)) throw new UsageError(`--http: expected a URL such as http://127.0.0.1:8080, got "${url}"`);
  return createHttpIngestClient({ url, apiKey });
}
