/**
 * The HTTP edge, un-listened (tests use inject() or port 0): JSON snapshot, Server-Sent Events with the
 * Subscribe semantics, /metrics, /healthz, /readyz. `/` and static assets are left to whoever serves the
 * wall screen: register them on the returned app (or through the view's `routes` option).
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { renderMetrics, type Logger, type Registry } from '@iocbus/telemetry';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { ViewError, toViewError } from './errors.js';
import { compileFilter, filterFromQuery } from './filter.js';
import type { Sink } from './hub.js';
import { toJsonValue, type OutMessage } from './messages.js';
import { requireRuntime, type Serving } from './serving.js';

type Query = Record<string, string | string[] | undefined>;

function sendError(reply: FastifyReply, err: ViewError): FastifyReply {
  if (err.retriable) void reply.header('retry-after', '1');
  return reply.code(err.httpStatus).send({ error: { code: err.code, message: err.message, retriable: err.retriable } });
}

/**
 * One SSE stream. Messages go straight to the socket, each as one pre-built HTTP/1.1 chunk shared by every
 * stream it is written to (OutMessage.sseChunk): ServerResponse.write would frame it again for each stream
 * (size line, data, CRLF: three writes into a corked socket, a nextTick to uncork, a writev of three pieces),
 * which was most of the server's JavaScript time in a 1,000-stream fan-out (issue #5). The response head and
 * the final chunk still go through the ServerResponse, which keeps its framing state. HTTP/1.0 clients get
 * an unframed body (node does not chunk for them), and a response still waiting for its socket (a pipelined
 * request) goes through ServerResponse.write.
 */
class SseSink implements Sink {
  readonly transport = 'sse' as const;
  private ended = false;
  private readonly socket: Socket | null;
  private readonly chunked: boolean;
  constructor(private readonly res: ServerResponse) {
    this.socket = res.socket;
    this.chunked = res.chunkedEncoding;
  }

  write(message: OutMessage): boolean {
    const socket = this.socket;
    if (socket === null) {
      if (this.ended || this.res.destroyed) return true;
      return this.res.write(message.sse());
    }
    if (this.ended || socket.destroyed || socket.writableEnded) return true;
    return socket.write(this.chunked ? message.sseChunk() : message.sse());
  }

  onDrain(callback: () => void): void {
    if (this.socket === null) this.res.once('drain', callback);
    else this.socket.once('drain', callback);
  }

  end(error?: ViewError): void {
    if (this.ended) return;
    this.ended = true;
    // EventSource reconnects by itself, sending the last id as Last-Event-ID.
    if (error !== undefined && !this.res.destroyed) this.res.write(`: ${error.code} ${error.message}\n\n`);
    this.res.end();
  }

  abort(): void {
    if (this.ended) return;
    this.ended = true;
    this.res.destroy();
  }
}

function one(q: Query, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = q[n];
    const s = Array.isArray(v) ? v[v.length - 1] : v;
    if (s !== undefined && s !== '') return s;
  }
  return undefined;
}

export interface HttpAppOptions {
  serving: Serving;
  registry: Registry;
  logger: Logger;
  /** Whether the initial partials are loaded and the source is healthy. */
  ready(): boolean;
}

export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const { serving } = options;
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // SSE streams are long-lived: close() ends them through the hub first, then idle sockets here.
    forceCloseConnections: 'idle',
  });

  app.get('/v1/indicators', async (request) => {
    const { core } = requireRuntime(serving);
    const filter = compileFilter(filterFromQuery(request.query as Query));
    const { watermarkMs, progressTimeMs } = serving.progress();
    return {
      values: core.snapshot(filter).map(toJsonValue),
      watermark: watermarkMs === null ? null : new Date(watermarkMs).toISOString(),
      progressTime: progressTimeMs === null ? null : new Date(progressTimeMs).toISOString(),
      resumeToken: core.headToken(filter),
      serverTime: new Date(serving.now()).toISOString(),
    };
  });

  app.get('/v1/indicators::stream', async (request, reply) => {
    const { hub } = requireRuntime(serving);
    const query = request.query as Query;
    const filter = compileFilter(filterFromQuery(query));
    const rateText = one(query, 'max_rate', 'maxUpdatesPerSecond');
    const rate = rateText === undefined ? undefined : Number(rateText);
    if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0)) {
      throw new ViewError('IOC_VIEW_INVALID_REQUEST', `max_rate must be a non-negative number, got "${rateText}"`);
    }
    const header = request.headers['last-event-id'];
    const resumeToken = (Array.isArray(header) ? header[0] : header) || one(query, 'lastEventId', 'resume_token');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const sink = new SseSink(res);
    try {
      const sub = hub.subscribe(sink, {
        filter,
        ...(resumeToken === undefined ? {} : { resumeToken }),
        ...(rate === undefined ? {} : { maxUpdatesPerSecond: rate }),
      });
      res.on('close', () => hub.remove(sub));
    } catch (error) {
      const err = toViewError(error);
      res.end(`event: error\ndata: ${JSON.stringify({ code: err.code, message: err.message })}\n\n`);
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await renderMetrics(options.registry);
    return reply.type(contentType).send(body);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const ready = options.ready() && !serving.closing;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', closing: serving.closing });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const err = error instanceof ViewError ? error : error.statusCode !== undefined && error.statusCode < 500 ? new ViewError('IOC_VIEW_INVALID_REQUEST', error.message) : toViewError(error);
    if (err.code === 'IOC_VIEW_INTERNAL') request.log.error({ err: error, url: request.url }, 'request failed');
    return sendError(reply, err);
  });
  return app;
}
