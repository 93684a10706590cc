import { parseCloudEvent } from '@iocbus/events';
import { renderMetrics } from '@iocbus/telemetry';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { bearerToken, type Principal } from './api-keys.js';
import { admit, admitAny, authenticate, refuseWhenClosing, type GatewayCore } from './core.js';
import { errorBody, GatewayError, toGatewayError } from './errors.js';
import { idAndSource, type Candidate, type EventResult, type IngestOutcome } from './ingest.js';
import { parseJsonChunks } from './json-array.js';
import { readChunks } from './raw-body.js';

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
const BINARY_DATA = 'application/json';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** CloudEvents HTTP binding §3.1.3: header values percent-encode what is not printable ASCII. */
function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Binary mode: attributes in ce-* headers, the body is `data`. Rebuilt as the structured object it stands for. */
function fromBinary(request: FastifyRequest, data: unknown): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const name in request.headers) {
    if (!name.startsWith('ce-')) continue;
    event[name.slice(3)] = headerValue(request.headers[name]);
  }
  event.datacontenttype = request.headers['content-type'];
  event.data = data;
  return event;
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function malformed(err: unknown): GatewayError {
  return new GatewayError('IOC_GATEWAY_MALFORMED_JSON', `the body is not valid JSON: ${(err as Error).message}`, {
    problems: [{ path: '$', message: `event: not valid JSON (${(err as Error).message})` }],
  });
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw malformed(err);
  }
}

function candidate(input: unknown): Candidate {
  const parsed = parseCloudEvent(input);
  return parsed.ok ? parsed : { ok: false, ...idAndSource(input), problems: parsed.problems };
}

function sendError(reply: FastifyReply, err: GatewayError, results?: readonly EventResult[]): FastifyReply {
  if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.code(err.httpStatus).send(results === undefined ? { error: errorBody(err) } : { error: errorBody(err), results });
}

function summary(results: readonly EventResult[]): Record<string, number> {
  const counts = { accepted: 0, duplicate: 0, rejected: 0, failed: 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}

function answer(reply: FastifyReply, outcome: IngestOutcome, single: boolean): FastifyReply {
  if (outcome.error !== undefined) return sendError(reply, outcome.error, outcome.results);
  const first = outcome.results[0];
  if (single && first?.status === 'rejected') {
    const err = new GatewayError(first.code ?? 'IOC_GATEWAY_VALIDATION', first.message ?? 'invalid event', {
      problems: first.problems ?? [],
    });
    return sendError(reply, err, outcome.results);
  }
  return reply.code(202).send({ ...summary(outcome.results), results: outcome.results });
}

/**
 * Checks a batch, charges the key and hands its events to the ingestor. Synchronous, and the parsed body
 * is taken off the request: while Kafka is awaited nothing holds the parsed or the validated events (their
 * records and results hold what is still needed), so young-generation collections in that time do not
 * copy them.
 */
function ingestBatch(core: GatewayCore, request: FastifyRequest): Promise<IngestOutcome> {
  const body = request.body;
  if (!Array.isArray(body)) {
    throw new GatewayError('IOC_GATEWAY_INVALID_BATCH', 'a batch must be a JSON array of CloudEvents', {
      problems: [{ path: '$', message: 'batch: expected a JSON array of CloudEvents' }],
    });
  }
  if (body.length === 0) {
    throw new GatewayError('IOC_GATEWAY_INVALID_BATCH', 'the batch is empty', {
      problems: [{ path: '$', message: 'batch: expected at least one event' }],
    });
  }
  const max = core.config.limits.maxBatchEvents;
  if (body.length > max) {
    throw new GatewayError('IOC_GATEWAY_BATCH_TOO_LARGE', `a batch holds at most ${max} events, got ${body.length}`);
  }
  const principal = request.principal as Principal;
  admit(core, principal, body.length);
  request.body = undefined;
  const candidates = body.map((input: unknown, i) => {
    const c = candidate(input);
    return c.ok ? c : { ...c, problems: c.problems.map((p) => ({ ...p, path: p.path.replace(/^\$/, `$[${i}]`) })) };
  });
  return core.ingestor.ingest(principal, candidates, 'http');
}

/** The HTTP edge (SPEC §3), un-listened: tests use inject() or listen on port 0. */
export function buildHttpApp(core: GatewayCore): FastifyInstance {
  const app = Fastify({
    loggerInstance: core.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One log line per request would be the hot path's biggest cost; latency goes to /metrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: core.config.http.bodyLimitBytes,
    // Our guard answers during shutdown instead, in the error shape clients know, with Retry-After.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('principal', null);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([STRUCTURED, BINARY_DATA], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (err) {
      done(err as Error);
    }
  });
  // A batch (up to ~1 MB) is parsed event by event from the chunks as received (json-array.ts).
  app.addContentTypeParser(BATCH, (request, payload, done) => {
    readChunks(payload, request.headers['content-length'], core.config.http.bodyLimitBytes, (err, chunks) => {
      if (err !== null) {
        done(err);
        return;
      }
      let body: unknown;
      try {
        body = parseJsonChunks(chunks as Buffer[]);
      } catch (parseError) {
        done(malformed(parseError));
        return;
      }
      done(null, body);
    });
  });

  const ingestRoute = { onRequest: guard, config: { ingest: true } };
  async function guard(request: FastifyRequest): Promise<void> {
    refuseWhenClosing(core);
    const principal = await authenticate(core, bearerToken(request.headers.authorization));
    admitAny(core, principal);
    request.principal = principal;
  }

  app.post('/v1/events', ingestRoute, async (request, reply) => {
    const type = mediaType(request);
    let input: unknown;
    if (type === STRUCTURED) input = request.body;
    else if (type === BINARY_DATA && request.headers['ce-specversion'] !== undefined) input = fromBinary(request, request.body);
    else throw unsupported(type, 'expected application/cloudevents+json, or application/json with ce-* headers (binary mode)');
    const principal = request.principal as Principal;
    admit(core, principal, 1);
    return answer(reply, await core.ingestor.ingest(principal, [candidate(input)], 'http'), true);
  });

  app.post('/v1/events::batch', ingestRoute, async (request, reply) => {
    const type = mediaType(request);
    if (type !== BATCH) throw unsupported(type, `expected ${BATCH}`);
    return answer(reply, await ingestBatch(core, request), false);
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await renderMetrics(core.registry);
    return reply.type(contentType).send(body);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = core.health.isUp && !core.closing;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', kafka: core.health.isUp ? 'up' : 'down', closing: core.closing });
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new GatewayError('IOC_GATEWAY_NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const err = fromFastify(error, mediaType(request));
    if (err.httpStatus >= 500 && err.code !== 'IOC_GATEWAY_SHUTTING_DOWN') {
      request.log.error({ err: error, code: err.code, url: request.url }, 'request failed');
    }
    return sendError(reply, err);
  });

  // While stopping, tell keep-alive clients to reconnect (to another instance) after this answer.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (core.closing) void reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    core.metrics.requestDuration.observe(
      // fastify writes a literal ':' in a path as '::'; the label shows the path clients use.
      { transport: 'http', route: request.routeOptions.url?.replace('::', ':') ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  return app;
}

function unsupported(type: string, expected: string): GatewayError {
  return new GatewayError('IOC_GATEWAY_UNSUPPORTED_MEDIA_TYPE', `unsupported content type "${type || '(none)'}": ${expected}`);
}

/** fastify's own errors (body limit, media type, framing) become ours; anything else is internal. */
function fromFastify(error: FastifyError, type: string): GatewayError {
  if (error instanceof GatewayError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('IOC_GATEWAY_BODY_TOO_LARGE', `the body is larger than the limit: ${error.message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupported(
        type,
        'expected application/cloudevents+json, application/cloudevents-batch+json, or application/json with ce-* headers',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError('IOC_GATEWAY_MALFORMED_JSON', `the body could not be read: ${error.message}`);
    default:
      if (error.statusCode === 503) return new GatewayError('IOC_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down');
      return toGatewayError(error);
  }
}
