/**
 * Indicator streams for `iocbus watch`, over either transport of the view: SSE (GET /v1/indicators:stream)
 * or gRPC (IndicatorService.Subscribe). Both are normalised to the same messages, and both reconnect with
 * the last resume token after a drop (the view answers with deltas, or a reset and a fresh snapshot).
 */
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { loadIndicatorsPackage } from '@iocbus/view';

export interface WatchValue {
  indicator: string;
  window: { kind: string; label: string; current: boolean };
  scope: { kind: string; code: string; name?: string };
  value: number | null;
  numerator: number | null;
  denominator: number | null;
}

export type WatchMessage =
  | { kind: 'snapshot'; values: WatchValue[]; more: boolean; watermarkMs: number | null }
  | { kind: 'delta'; values: WatchValue[]; removed: Omit<WatchValue, 'value' | 'numerator' | 'denominator'>[] }
  | { kind: 'heartbeat'; watermarkMs: number | null; serverTimeMs: number | null }
  | { kind: 'reset'; reason: string };

export interface WatchFilter {
  indicators: string[];
  /** View window names: day, month, quarter, year, rolling_1h, now. */
  windows: string[];
  /** "province", "unit", "unit:H21.17", … */
  scopes: string[];
}

export interface StreamHandlers {
  onMessage(message: WatchMessage): void;
  onState(state: 'connecting' | 'live' | 'reconnecting', detail?: string): void;
}

export interface StreamHandle {
  close(): void;
}

const iso = (s: unknown): number | null => (typeof s === 'string' ? Date.parse(s) : null);

// ---------------------------------------------------------------------------------------------------------
// SSE

/** Splits a text/event-stream body into events (WHATWG HTML §9.2 "event stream interpretation"). */
export function* parseSse(buffer: { text: string }): Generator<{ id: string | undefined; event: string; data: string }> {
  for (;;) {
    const end = buffer.text.search(/\r?\n\r?\n/);
    if (end < 0) return;
    const block = buffer.text.slice(0, end);
    buffer.text = buffer.text.slice(end + (buffer.text[end] === '\r' ? 4 : 2));
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) yield { id, event, data: data.join('\n') };
  }
}

function sseMessage(event: string, body: Record<string, unknown>): WatchMessage | undefined {
  switch (event) {
    case 'snapshot':
      return { kind: 'snapshot', values: body.values as WatchValue[], more: body.more === true, watermarkMs: iso(body.watermark) };
    case 'delta':
      return { kind: 'delta', values: body.values as WatchValue[], removed: (body.removed ?? []) as WatchValue[] };
    case 'heartbeat':
      return { kind: 'heartbeat', watermarkMs: iso(body.watermark), serverTimeMs: iso(body.serverTime) };
    case 'reset':
      return { kind: 'reset', reason: String(body.reason ?? body.cause ?? '') };
    default:
      return undefined;
  }
}

export function subscribeSse(baseUrl: string, filter: WatchFilter, handlers: StreamHandlers, staleMs = 20_000): StreamHandle {
  const abort = new AbortController();
  let lastId: string | undefined;
  void (async () => {
    for (let attempt = 0; !abort.signal.aborted; attempt++) {
      const url = new URL('/v1/indicators:stream', baseUrl);
      if (filter.indicators.length > 0) url.searchParams.set('indicator', filter.indicators.join(','));
      url.searchParams.set('window', filter.windows.join(','));
      url.searchParams.set('scope', filter.scopes.join(','));
      url.searchParams.set('current', 'true');
      handlers.onState(attempt === 0 ? 'connecting' : 'reconnecting');
      const request = new AbortController();
      const stop = (): void => request.abort();
      abort.signal.addEventListener('abort', stop, { once: true });
      let watchdog: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => request.abort(new Error('no message, not even a heartbeat')), staleMs);
      };
      try {
        arm();
        const res = await fetch(url, { headers: { accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': lastId }) }, signal: request.signal });
        if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
        const buffer = { text: '' };
        const decoder = new TextDecoder();
        for await (const chunk of res.body) {
          arm();
          buffer.text += decoder.decode(chunk as Uint8Array, { stream: true });
          for (const ev of parseSse(buffer)) {
            if (ev.id !== undefined) lastId = ev.id;
            const message = sseMessage(ev.event, JSON.parse(ev.data) as Record<string, unknown>);
            if (message === undefined) continue;
            if (message.kind !== 'reset') {
              attempt = 0;
              handlers.onState('live');
            }
            handlers.onMessage(message);
          }
        }
        throw new Error('stream ended');
      } catch (err) {
        if (abort.signal.aborted) return;
        handlers.onState('reconnecting', (err as Error).message);
        await delay(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)), undefined, { signal: abort.signal }).catch(() => undefined);
      } finally {
        clearTimeout(watchdog);
        abort.signal.removeEventListener('abort', stop);
      }
    }
  })();
  return { close: () => abort.abort() };
}

// ---------------------------------------------------------------------------------------------------------
// gRPC

const WINDOW_TO_PROTO: Record<string, string> = {
  day: 'WINDOW_KIND_TODAY',
  month: 'WINDOW_KIND_MONTH',
  quarter: 'WINDOW_KIND_QUARTER',
  year: 'WINDOW_KIND_YEAR',
  rolling_1h: 'WINDOW_KIND_ROLLING_1H',
  now: 'WINDOW_KIND_NOW',
};
const WINDOW_FROM_PROTO = new Map(Object.entries(WINDOW_TO_PROTO).map(([k, v]) => [v, k]));
const SCOPE_TO_PROTO: Record<string, string> = {
  province: 'SCOPE_KIND_PROVINCE',
  unit: 'SCOPE_KIND_UNIT',
  procedure: 'SCOPE_KIND_PROCEDURE',
  sector: 'SCOPE_KIND_SECTOR',
  channel: 'SCOPE_KIND_CHANNEL',
};
const SCOPE_FROM_PROTO = new Map(Object.entries(SCOPE_TO_PROTO).map(([k, v]) => [v, k]));

interface ProtoTimestamp {
  seconds?: number | string;
  nanos?: number;
}
interface ProtoWindow {
  kind?: string;
  label?: string;
  current?: boolean;
}
interface ProtoScope {
  kind?: string;
  key?: string;
  name?: string;
}
interface ProtoValue {
  indicatorId?: string;
  window?: ProtoWindow;
  scope?: ProtoScope;
  value?: number;
  numerator?: number;
  denominator?: number;
}
interface ProtoResponse {
  resumeToken?: string;
  kind?: string;
  snapshot?: { values?: ProtoValue[]; watermark?: ProtoTimestamp; more?: boolean };
  delta?: { values?: ProtoValue[]; removed?: { indicatorId?: string; window?: ProtoWindow; scope?: ProtoScope }[] };
  heartbeat?: { watermark?: ProtoTimestamp; serverTime?: ProtoTimestamp };
  reset?: { reason?: string };
}

const ms = (t: ProtoTimestamp | undefined): number | null => (t === undefined ? null : Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));

function fromProtoKey(k: { indicatorId?: string; window?: ProtoWindow; scope?: ProtoScope }) {
  return {
    indicator: k.indicatorId ?? '',
    window: { kind: WINDOW_FROM_PROTO.get(k.window?.kind ?? '') ?? 'unknown', label: k.window?.label ?? '', current: k.window?.current === true },
    scope: { kind: SCOPE_FROM_PROTO.get(k.scope?.kind ?? '') ?? 'unknown', code: k.scope?.key ?? '', ...(k.scope?.name ? { name: k.scope.name } : {}) },
  };
}

function fromProtoValue(v: ProtoValue): WatchValue {
  return { ...fromProtoKey(v), value: v.value ?? null, numerator: v.numerator ?? null, denominator: v.denominator ?? null };
}

export function protoFilter(filter: WatchFilter): Record<string, unknown> {
  const byKind = new Map<string, string[]>();
  for (const s of filter.scopes) {
    const colon = s.indexOf(':');
    const kind = colon < 0 ? s : s.slice(0, colon);
    const keys = byKind.get(kind) ?? [];
    if (colon >= 0) keys.push(s.slice(colon + 1));
    byKind.set(kind, keys);
  }
  return {
    indicatorIds: filter.indicators,
    windows: filter.windows.map((w) => WINDOW_TO_PROTO[w] ?? w),
    scopes: [...byKind].map(([kind, keys]) => ({ kind: SCOPE_TO_PROTO[kind] ?? kind, keys })),
    currentOnly: true,
  };
}

export function subscribeGrpc(address: string, filter: WatchFilter, handlers: StreamHandlers, tls = false): StreamHandle {
  const loaded = grpc.loadPackageDefinition(loadIndicatorsPackage()) as unknown as {
    iocbus: { indicators: { v1: { IndicatorService: grpc.ServiceClientConstructor } } };
  };
  const client = new loaded.iocbus.indicators.v1.IndicatorService(address, tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure());
  let closed = false;
  let token: string | undefined;
  let call: grpc.ClientReadableStream<ProtoResponse> | undefined;
  let attempt = 0;

  const open = (): void => {
    if (closed) return;
    handlers.onState(attempt === 0 ? 'connecting' : 'reconnecting');
    const request = { filter: protoFilter(filter), ...(token === undefined ? {} : { resumeToken: token }) };
    const c = (client as unknown as { Subscribe(req: unknown): grpc.ClientReadableStream<ProtoResponse> }).Subscribe(request);
    call = c;
    c.on('data', (r: ProtoResponse) => {
      if (r.resumeToken) token = r.resumeToken;
      let message: WatchMessage | undefined;
      if (r.snapshot !== undefined) message = { kind: 'snapshot', values: (r.snapshot.values ?? []).map(fromProtoValue), more: r.snapshot.more === true, watermarkMs: ms(r.snapshot.watermark) };
      else if (r.delta !== undefined) message = { kind: 'delta', values: (r.delta.values ?? []).map(fromProtoValue), removed: (r.delta.removed ?? []).map(fromProtoKey) };
      else if (r.heartbeat !== undefined) message = { kind: 'heartbeat', watermarkMs: ms(r.heartbeat.watermark), serverTimeMs: ms(r.heartbeat.serverTime) };
      else if (r.reset !== undefined) message = { kind: 'reset', reason: r.reset.reason ?? '' };
      if (message === undefined) return;
      if (message.kind !== 'reset') {
        attempt = 0;
        handlers.onState('live');
      }
      handlers.onMessage(message);
    });
    const retry = (why: string): void => {
      if (closed || call !== c) return;
      call = undefined;
      attempt++;
      handlers.onState('reconnecting', why);
      setTimeout(open, Math.min(10_000, 250 * 2 ** Math.min(attempt - 1, 6)));
    };
    c.on('error', (err: grpc.ServiceError) => retry(`${grpc.status[err.code] ?? err.code}: ${err.details}`));
    c.on('end', () => retry('stream ended'));
  };
  open();
  return {
    close() {
      closed = true;
      call?.cancel();
      client.close();
    },
  };
}
