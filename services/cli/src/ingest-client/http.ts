/**
 * HTTP ingest client: POST /v1/events:batch (application/cloudevents-batch+json). The gateway's answer is
 * read as per-event results, or as a retriable / fatal / too-large verdict for the batch as a whole.
 */
import type { BatchAnswer, EventOutcome, IngestClient, Problem } from './outcome.js';

export interface HttpIngestClientOptions {
  /** Base URL of the gateway, e.g. http://127.0.0.1:8080. */
  url: string;
  apiKey: string;
  /** Per-request timeout; a timeout counts as a network error (retriable). Default 60 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface ResultJson {
  id?: string;
  source?: string;
  status?: string;
  code?: string;
  message?: string;
  problems?: Problem[];
}

interface ErrorJson {
  error?: { code?: string; message?: string; retriable?: boolean; problems?: Problem[] };
  results?: ResultJson[];
}

/** Batch problem paths are `$[i].data.x`; per event they read better as `$.data.x`. */
function eventPath(path: string): string {
  return path.replace(/^\$\[\d+\]/, '$');
}

function outcomeOf(r: ResultJson): EventOutcome {
  const status = r.status === 'accepted' || r.status === 'duplicate' ? r.status : 'rejected';
  const out: EventOutcome = { id: r.id ?? '', source: r.source ?? '', status };
  if (status === 'rejected') {
    if (r.code !== undefined) out.code = r.code;
    if (r.message !== undefined) out.message = r.message;
    out.problems = (r.problems ?? []).map((p) => ({ path: eventPath(p.path), message: p.message }));
  }
  return out;
}

/** Retry-After is delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function createHttpIngestClient(options: HttpIngestClientOptions): IngestClient {
  const doFetch = options.fetch ?? fetch;
  const endpoint = new URL('/v1/events:batch', options.url).toString();
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function send(events: readonly unknown[], signal?: AbortSignal): Promise<BatchAnswer> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await doFetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${options.apiKey}` },
        body: JSON.stringify(events),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
      text = await response.text();
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { kind: 'retry', reason: `network error: ${cause?.code ?? cause?.message ?? (err as Error).message}` };
    }
    let body: ErrorJson & { results?: ResultJson[] } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // A proxy's HTML error page: the status alone decides.
    }
    const status = response.status;
    const reason = `HTTP ${status}${body.error?.code !== undefined ? ` ${body.error.code}` : ''}${body.error?.message !== undefined ? `: ${body.error.message}` : ''}`;
    if (status === 202 || status === 200) {
      const results = body.results ?? [];
      if (results.length !== events.length) return { kind: 'fatal', reason: `gateway answered ${results.length} results for ${events.length} events` };
      return { kind: 'done', outcomes: results.map(outcomeOf) };
    }
    if (status === 429 || status === 503) {
      const after = retryAfterMs(response.headers.get('retry-after'));
      return after === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs: after };
    }
    if (status === 413) return { kind: 'too_large', reason };
    if (status >= 500) {
      // The gateway says whether its own 5xx is worth repeating; a proxy's 502/504 usually is.
      const retriable = body.error?.retriable ?? (status === 502 || status === 504);
      return retriable ? { kind: 'retry', reason } : { kind: 'fatal', reason, ...(body.error?.code ? { code: body.error.code } : {}) };
    }
    return { kind: 'fatal', reason, ...(body.error?.code ? { code: body.error.code } : {}) };
  }

  return { target: endpoint, send, close: async () => {} };
}
