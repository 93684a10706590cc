/**
 * A minimal PublishStream client on node:http2, for load generation (bench/gateway.bench.ts) — the gateway
 * itself does not use it. grpc-js's client costs ~17-22 µs of CPU per streamed message (a Writable per call,
 * a frame Buffer and an http2 write per message, protobufjs decode + toObject per ack), as much as the
 * gateway spends on the event; on a 2-core machine that is CPU taken from the server under test. This
 * client sends gRPC frames (1 byte flag + 4 byte length + PublishStreamRequest, gRPC over HTTP/2 spec)
 * prepared before the clock starts, as many as the flow-control grant allows, in one write (a slice of one
 * contiguous Buffer), and decodes each response by hand. It behaves as a real client must: it never has more
 * than `max_in_flight` events unacknowledged, waits for a new grant when the window is 0, stops writing when
 * HTTP/2 flow control pushes back ('drain'), and checks every ack: its sequence is the next one and its
 * status accepted (or whatever `expect` allows).
 */
import * as http2 from 'node:http2';

export const PUBLISH_STREAM_PATH = '/iocbus.ingest.v1.IngestService/PublishStream';

/** gRPC frames of many messages in one Buffer; message i ends at `ends[i]`. */
export interface Frames {
  bytes: Buffer;
  ends: number[];
}

/** Length-prefixed gRPC messages (uncompressed), back to back. */
export function frameMessages(messages: readonly Uint8Array[]): Frames {
  let size = 0;
  for (const m of messages) size += 5 + m.length;
  const bytes = Buffer.allocUnsafe(size);
  const ends: number[] = new Array(messages.length);
  let at = 0;
  messages.forEach((m, i) => {
    bytes[at] = 0;
    bytes.writeUInt32BE(m.length, at + 1);
    bytes.set(m, at + 5);
    at += 5 + m.length;
    ends[i] = at;
  });
  return { bytes, ends };
}

const CANCELLED = 1;

export const ACK_STATUS = ['EVENT_STATUS_UNSPECIFIED', 'EVENT_STATUS_ACCEPTED', 'EVENT_STATUS_DUPLICATE', 'EVENT_STATUS_REJECTED'] as const;

/** A decoded PublishStreamResponse. Numbers above 2^53 lose precision (sequences never get there). */
export type DecodedResponse =
  | { kind: 'ack'; sequence: number; id: string; source: string; status: number; code: string; problems: { path: string; message: string }[] }
  | { kind: 'flowControl'; maxInFlight: number; ackedThrough: number; maxEventBytes: number; retryAfterMs: number }
  | { kind: 'empty' };

class Reader {
  at: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.at = start;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.at++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
      if (scale > 2 ** 63) throw new Error('varint too long');
    }
  }

  /** The end offset of a length-delimited field starting here (after its length). */
  lengthEnd(): number {
    const length = this.varint();
    const end = this.at + length;
    if (end > this.end) throw new Error('truncated length-delimited field');
    return end;
  }

  string(): string {
    const end = this.lengthEnd();
    const s = this.buf.toString('utf8', this.at, end);
    this.at = end;
    return s;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 2) this.at = this.lengthEnd();
    else if (wireType === 1) this.at += 8;
    else if (wireType === 5) this.at += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.at > this.end) throw new Error('truncated field');
  }
}

function decodeProblem(r: Reader, end: number): { path: string; message: string } {
  const p = { path: '', message: '' };
  while (r.at < end) {
    const tag = r.varint();
    if (tag === 0x0a) p.path = r.string();
    else if (tag === 0x12) p.message = r.string();
    else r.skip(tag & 7);
  }
  return p;
}

function decodeAck(r: Reader, end: number): DecodedResponse {
  const ack = { kind: 'ack' as const, sequence: 0, id: '', source: '', status: 0, code: '', problems: [] as { path: string; message: string }[] };
  while (r.at < end) {
    const tag = r.varint();
    if (tag === 0x08) ack.sequence = r.varint();
    else if (tag === 0x12) {
      const resultEnd = r.lengthEnd();
      const inner = new Reader(r.buf, r.at, resultEnd);
      while (inner.at < resultEnd) {
        const t = inner.varint();
        if (t === 0x0a) ack.id = inner.string();
        else if (t === 0x12) ack.source = inner.string();
        else if (t === 0x18) ack.status = inner.varint();
        else if (t === 0x22) {
          const problemEnd = inner.lengthEnd();
          ack.problems.push(decodeProblem(new Reader(inner.buf, inner.at, problemEnd), problemEnd));
          inner.at = problemEnd;
        } else if (t === 0x2a) ack.code = inner.string();
        else inner.skip(t & 7);
      }
      r.at = resultEnd;
    } else r.skip(tag & 7);
  }
  return ack;
}

function decodeFlowControl(r: Reader, end: number): DecodedResponse {
  const fc = { kind: 'flowControl' as const, maxInFlight: 0, ackedThrough: 0, maxEventBytes: 0, retryAfterMs: 0 };
  while (r.at < end) {
    const tag = r.varint();
    if (tag === 0x08) fc.maxInFlight = r.varint();
    else if (tag === 0x10) fc.ackedThrough = r.varint();
    else if (tag === 0x18) fc.maxEventBytes = r.varint();
    else if (tag === 0x20) fc.retryAfterMs = r.varint();
    else r.skip(tag & 7);
  }
  return fc;
}

/** One PublishStreamResponse (protobuf bytes buf[start, end)). Throws on malformed bytes. */
export function decodeResponse(buf: Buffer, start = 0, end = buf.length): DecodedResponse {
  const r = new Reader(buf, start, end);
  // A oneof: the last case on the wire wins (protobuf merge rules).
  let out: DecodedResponse = { kind: 'empty' };
  while (r.at < end) {
    const tag = r.varint();
    if (tag === 0x0a || tag === 0x12) {
      const fieldEnd = r.lengthEnd();
      out = tag === 0x0a ? decodeAck(new Reader(buf, r.at, fieldEnd), fieldEnd) : decodeFlowControl(new Reader(buf, r.at, fieldEnd), fieldEnd);
      r.at = fieldEnd;
    } else r.skip(tag & 7);
  }
  return out;
}

/** Splits an HTTP/2 DATA stream into gRPC messages, whatever the chunk boundaries. */
export class FrameSplitter {
  private pending: Buffer | undefined;

  /** Calls onMessage(buffer, start, end) for each complete message in the data so far. */
  push(chunk: Buffer, onMessage: (buf: Buffer, start: number, end: number) => void): void {
    const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let at = 0;
    while (buf.length - at >= 5) {
      if (buf[at] !== 0) throw new Error('compressed response messages are not supported');
      const length = buf.readUInt32BE(at + 1);
      if (buf.length - at - 5 < length) break;
      onMessage(buf, at + 5, at + 5 + length);
      at += 5 + length;
    }
    if (at < buf.length) this.pending = buf.subarray(at);
  }

  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}

export interface PublishStreamOptions {
  session: http2.ClientHttp2Session;
  /** Sent as `authorization: Bearer <key>`. */
  key: string;
  frames: Frames;
  /** Called for each ack, after it was checked (e.g. to record latency). */
  onAck?: (sequence: number) => void;
  /** Called when the first event of a window write goes out, with its sequence number. */
  onSend?: (firstSequence: number, lastSequence: number) => void;
  /** Statuses an ack may carry; default accepted only. */
  expect?: readonly number[];
  /** Cancels the call after this long; it then resolves with status CANCELLED (1) and what was acked. */
  timeoutMs?: number;
}

export interface PublishStreamResult {
  acked: number;
  /** The call's gRPC status and message (from trailers). */
  status: number;
  message: string;
  /** Most events ever unacknowledged at once, and the largest grant seen. */
  maxUnacked: number;
  maxGrant: number;
}

export class PublishStreamError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PublishStreamError';
  }
}

/**
 * One PublishStream call sending `frames` (requests numbered 1…n); resolves with the final status once the
 * server ended the call, rejects on a protocol violation (an ack out of sequence, a status not expected).
 */
export function publishStream(options: PublishStreamOptions): Promise<PublishStreamResult> {
  const { session, frames } = options;
  const expect = options.expect ?? [1];
  const n = frames.ends.length;
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST',
      ':path': PUBLISH_STREAM_PATH,
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      authorization: `Bearer ${options.key}`,
    });
    const splitter = new FrameSplitter();
    let window = 0;
    let sent = 0;
    let acked = 0;
    let blocked = false;
    let ended = false;
    let settled = false;
    let timedOut = false;
    const result = { acked: 0, status: -1, message: '', maxUnacked: 0, maxGrant: 0 };
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
            timedOut = true;
            req.close(http2.constants.NGHTTP2_CANCEL);
          }, options.timeoutMs);

    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.close(http2.constants.NGHTTP2_CANCEL);
      reject(err);
    };

    const pump = (): void => {
      if (blocked || ended || settled) return;
      const upTo = Math.min(n, acked + window);
      if (upTo > sent) {
        const from = sent === 0 ? 0 : (frames.ends[sent - 1] as number);
        options.onSend?.(sent + 1, upTo);
        const more = req.write(frames.bytes.subarray(from, frames.ends[upTo - 1]));
        sent = upTo;
        if (sent - acked > result.maxUnacked) result.maxUnacked = sent - acked;
        if (!more) {
          blocked = true;
          req.once('drain', () => {
            blocked = false;
            pump();
          });
        }
      }
      if (sent === n && acked === n) {
        ended = true;
        req.end();
      }
    };

    const onMessage = (buf: Buffer, start: number, end: number): void => {
      const m = decodeResponse(buf, start, end);
      if (m.kind === 'flowControl') {
        window = m.maxInFlight;
        if (window > result.maxGrant) result.maxGrant = window;
      } else if (m.kind === 'ack') {
        if (m.sequence !== acked + 1) throw new PublishStreamError(`ack ${m.sequence} after ${acked}`);
        if (m.sequence > sent) throw new PublishStreamError(`ack ${m.sequence} for an event not sent (sent ${sent})`);
        if (!expect.includes(m.status)) {
          throw new PublishStreamError(`ack ${m.sequence}: ${ACK_STATUS[m.status] ?? m.status} ${m.code} ${JSON.stringify(m.problems)}`);
        }
        acked = m.sequence;
        options.onAck?.(acked);
      } else throw new PublishStreamError('an empty PublishStreamResponse');
    };

    req.on('response', (headers) => {
      const status = headers[':status'];
      if (status !== 200) fail(new PublishStreamError(`HTTP status ${status}`));
      // Trailers-only response: the status is in the headers.
      if (headers['grpc-status'] !== undefined) {
        result.status = Number(headers['grpc-status']);
        result.message = decodeURIComponent(String(headers['grpc-message'] ?? ''));
      }
    });
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      try {
        splitter.push(chunk, onMessage);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      pump();
    });
    req.on('trailers', (trailers) => {
      result.status = Number(trailers['grpc-status']);
      result.message = decodeURIComponent(String(trailers['grpc-message'] ?? ''));
    });
    // The server has said its last word (a status ends the call): stop sending too, or the stream stays half open.
    req.on('end', () => {
      if (!req.writableEnded) req.close(http2.constants.NGHTTP2_NO_ERROR);
    });
    req.on('error', (err) => fail(err));
    req.on('close', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      result.acked = acked;
      if (timedOut) resolve({ ...result, status: CANCELLED, message: 'cancelled by the client (timeout)' });
      else if (splitter.buffered > 0) reject(new PublishStreamError(`the stream ended inside a message (${splitter.buffered} bytes)`));
      else if (result.status === -1) reject(new PublishStreamError(`the stream closed without a gRPC status (rst ${req.rstCode})`, req.rstCode));
      else resolve(result);
    });
  });
}
