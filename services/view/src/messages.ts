/**
 * Stream messages, independent of transport. A message is built once per group of subscribers sharing a
 * filter and position, and encoded at most once per transport (cached on the message), so fan-out to a
 * thousand identical wall screens costs one encoding and a thousand writes.
 */
import type { RemovedKey, ViewValue } from './model.js';
import { serializerOf, timestamp, toProtoKey, toProtoValue } from './proto.js';

export type ResetCause =
  | 'token_invalid'
  | 'token_expired'
  | 'other_history'
  | 'filter_changed'
  | 'token_ahead'
  | 'incomplete_snapshot'
  | 'too_far_behind';

export type MessageBody =
  | { kind: 'snapshot'; values: readonly ViewValue[]; watermarkMs: number | null; more: boolean }
  | { kind: 'delta'; values: readonly ViewValue[]; removed: readonly RemovedKey[] }
  | { kind: 'heartbeat'; watermarkMs: number | null; serverTimeMs: number; progressTimeMs: number | null }
  | { kind: 'reset'; cause: ResetCause; reason: string };

export class OutMessage {
  private grpcBytes: Buffer | undefined;
  private sseBytes: Buffer | undefined;
  private sseChunkBytes: Buffer | undefined;
  constructor(
    readonly token: string,
    readonly body: MessageBody,
  ) {}

  /** SubscribeResponse bytes. */
  grpc(): Buffer {
    this.grpcBytes ??= serializeSubscribeResponse(toProtoMessage(this));
    return this.grpcBytes;
  }

  /**
   * One Server-Sent Event: `id` is the resume token (EventSource sends it back as Last-Event-ID). Bytes, not a
   * string, so the UTF-8 encoding is done once for every subscriber the message goes to, not once per write.
   */
  sse(): Buffer {
    this.sseBytes ??= Buffer.from(`id: ${this.token}\nevent: ${this.body.kind}\ndata: ${JSON.stringify(toJsonBody(this.body))}\n\n`, 'utf8');
    return this.sseBytes;
  }

  /** The event as one HTTP/1.1 chunk (size line, event, CRLF), for SSE streams written to their socket directly. */
  sseChunk(): Buffer {
    if (this.sseChunkBytes === undefined) {
      const event = this.sse();
      const size = `${event.length.toString(16)}\r\n`;
      const chunk = Buffer.allocUnsafe(size.length + event.length + 2);
      chunk.write(size, 0, 'latin1');
      event.copy(chunk, size.length);
      chunk.write('\r\n', size.length + event.length, 'latin1');
      this.sseChunkBytes = chunk;
    }
    return this.sseChunkBytes;
  }
}

let serializeSubscribeResponseFn: ((obj: unknown) => Buffer) | undefined;
function serializeSubscribeResponse(obj: unknown): Buffer {
  serializeSubscribeResponseFn ??= serializerOf('SubscribeResponse');
  return serializeSubscribeResponseFn(obj);
}

const RESET_TO_PROTO: Record<ResetCause, string> = {
  token_invalid: 'RESET_CAUSE_TOKEN_INVALID',
  token_expired: 'RESET_CAUSE_TOKEN_EXPIRED',
  other_history: 'RESET_CAUSE_OTHER_HISTORY',
  filter_changed: 'RESET_CAUSE_FILTER_CHANGED',
  token_ahead: 'RESET_CAUSE_TOKEN_AHEAD',
  incomplete_snapshot: 'RESET_CAUSE_INCOMPLETE_SNAPSHOT',
  too_far_behind: 'RESET_CAUSE_TOO_FAR_BEHIND',
};

const ts = (ms: number | null): Record<string, unknown> => (ms === null ? {} : timestamp(ms));

function toProtoMessage(m: OutMessage): Record<string, unknown> {
  const b = m.body;
  switch (b.kind) {
    case 'snapshot':
      return { resumeToken: m.token, snapshot: { values: b.values.map(toProtoValue), ...(b.watermarkMs === null ? {} : { watermark: ts(b.watermarkMs) }), more: b.more } };
    case 'delta':
      return { resumeToken: m.token, delta: { values: b.values.map(toProtoValue), removed: b.removed.map(toProtoKey) } };
    case 'heartbeat':
      return {
        resumeToken: m.token,
        heartbeat: {
          ...(b.watermarkMs === null ? {} : { watermark: ts(b.watermarkMs) }),
          serverTime: ts(b.serverTimeMs),
          ...(b.progressTimeMs === null ? {} : { progressTime: ts(b.progressTimeMs) }),
        },
      };
    case 'reset':
      return { resumeToken: m.token, reset: { reason: b.reason, cause: RESET_TO_PROTO[b.cause] } };
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The JSON shape of a value on HTTP and SSE (documented in the README). */
export interface JsonValue {
  indicator: string;
  window: { kind: string; label: string; start: string | null; end: string | null; current: boolean };
  scope: { kind: string; code: string; group?: string; name?: string };
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  eventCount: number;
  open: boolean;
  revised: boolean;
  points?: number | null;
  maxPoints?: number;
  target?: number;
  updatedAt: string;
}

export function toJsonValue(v: ViewValue): JsonValue {
  const w = v.window;
  return {
    indicator: v.indicator,
    window: { kind: w.kind, label: w.label, start: iso(w.startMs), end: iso(w.endMs), current: w.current },
    scope: v.scope,
    value: v.value,
    numerator: v.numerator,
    denominator: v.denominator,
    eventCount: v.eventCount,
    open: v.open,
    revised: v.revised,
    ...(v.points === undefined ? {} : { points: v.points }),
    ...(v.maxPoints === undefined ? {} : { maxPoints: v.maxPoints }),
    ...(v.target === undefined ? {} : { target: v.target }),
    updatedAt: new Date(v.updatedAtMs).toISOString(),
  };
}

export function toJsonBody(b: MessageBody): Record<string, unknown> {
  switch (b.kind) {
    case 'snapshot':
      return { values: b.values.map(toJsonValue), watermark: iso(b.watermarkMs), more: b.more };
    case 'delta':
      return { values: b.values.map(toJsonValue), removed: b.removed.map((k) => ({ indicator: k.indicator, window: k.window, scope: k.scope })) };
    case 'heartbeat':
      return { watermark: iso(b.watermarkMs), serverTime: new Date(b.serverTimeMs).toISOString(), progressTime: iso(b.progressTimeMs) };
    case 'reset':
      return { cause: b.cause, reason: b.reason };
  }
}
