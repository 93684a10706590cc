/**
 * Reads a PublishStream call's requests straight off its HTTP/2 stream. grpc-js hands the handler one message
 * at a time: per message a Buffer.concat of its frame, an async deserialize (a promise and a microtask), a
 * queue entry, a push into an object-mode Readable and a 'data' event, and the HTTP/2 stream paused and resumed
 * around it. Here each DATA chunk is split into its messages in place (a message split across chunks is
 * joined), each is deserialized (stream-request.ts) and handed over synchronously, and pausing stops delivery at
 * once — the flow-control window is exact — while the HTTP/2 stream itself stays paused until resumed.
 *
 * It takes over from grpc-js only where it reads exactly as grpc-js would: identity encoding (no grpc-encoding
 * header, so a compressed flag means nothing), nothing read yet, and grpc-js 1.x's call internals present (the
 * duplex's `call.stream`, `incomingEncoding`, `readQueue`). Otherwise `takeOverReading` returns undefined and
 * the session reads through grpc-js as before. Limits stay grpc-js's: a message over the receive limit ends
 * the call with RESOURCE_EXHAUSTED; bytes that do not decode end it with INVALID_ARGUMENT (grpc-js: INTERNAL),
 * as a malformed stream (ingest_service.proto).
 */
import type { Readable } from 'node:stream';
import { GatewayError } from './errors.js';
import type { StreamRequest } from './stream-request.js';

export interface StreamReaderHandlers {
  message(request: StreamRequest): void;
  /** The client half-closed: every message before it was delivered. */
  end(): void;
  /** The request stream is broken (too large, undecodable): end the call with this. */
  error(err: GatewayError): void;
}

export interface StreamReader {
  pause(): void;
  resume(): void;
}

interface GrpcJsServerCall {
  stream?: unknown;
  incomingEncoding?: unknown;
  readQueue?: unknown;
}

export interface TakeOverOptions {
  maxMessageBytes: number;
  deserialize: (bytes: Buffer) => StreamRequest;
}

/** Reads the call's requests from now on; undefined (nothing changed) when grpc-js's internals are not as expected. */
export function takeOverReading(call: object, options: TakeOverOptions, handlers: StreamReaderHandlers): StreamReader | undefined {
  const inner = (call as { call?: GrpcJsServerCall }).call;
  const stream = inner?.stream as Readable | undefined;
  if (inner === undefined || stream === undefined || typeof stream.on !== 'function' || typeof stream.pause !== 'function') return undefined;
  if (inner.incomingEncoding !== 'identity' || !Array.isArray(inner.readQueue) || inner.readQueue.length > 0) return undefined;
  if (stream.readableFlowing === true || stream.readableEnded) return undefined;
  // grpc-js's own readers of the stream: its 'data' listener must go, or it would decode every message again.
  // Its 'end' listener stays; with no read pending it only queues a half-close nobody asks for.
  for (const listener of stream.listeners('data')) stream.removeListener('data', listener as (...args: unknown[]) => void);

  const { maxMessageBytes, deserialize } = options;
  let pending: Buffer | undefined;
  let paused = false;
  let ended = false;
  let failed = false;
  let delivering = false;
  let endDelivered = false;
  let count = 0;

  const fail = (err: GatewayError): void => {
    failed = true;
    pending = undefined;
    stream.pause();
    handlers.error(err);
  };

  /** Hands over the complete messages in `pending` until paused; keeps the rest for later. */
  const deliver = (): void => {
    if (delivering) return; // resumed from inside a handler: the loop below carries on
    delivering = true;
    try {
      const buf = pending;
      let at = 0;
      while (buf !== undefined && !paused && !failed && buf.length - at >= 5) {
        const length = buf.readUInt32BE(at + 1);
        if (length > maxMessageBytes) {
          fail(new GatewayError('IOC_GATEWAY_BODY_TOO_LARGE', `received a message larger than the limit (${length} > ${maxMessageBytes} bytes)`));
          return;
        }
        if (buf.length - at - 5 < length) break;
        let request: StreamRequest;
        try {
          request = deserialize(buf.subarray(at + 5, at + 5 + length));
        } catch {
          fail(
            new GatewayError('IOC_GATEWAY_INVALID_STREAM', `request message ${count + 1} is not a PublishStreamRequest`, {
              problems: [{ path: '$', message: `message ${count + 1}: could not be decoded as iocbus.ingest.v1.PublishStreamRequest` }],
            }),
          );
          return;
        }
        at += 5 + length;
        count++;
        handlers.message(request);
      }
      if (buf !== undefined && !failed) pending = at === buf.length ? undefined : buf.subarray(at);
    } finally {
      delivering = false;
    }
    if (paused || failed || !ended || endDelivered) return;
    if (pending === undefined) {
      endDelivered = true;
      handlers.end();
    } else if (pending.length < 5 || pending.length - 5 < pending.readUInt32BE(1)) {
      fail(new GatewayError('IOC_GATEWAY_INVALID_STREAM', `the request stream ended inside a message (${pending.length} bytes)`));
    }
  };

  stream.on('data', (chunk: Buffer) => {
    if (failed) return;
    pending = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    deliver();
  });
  stream.on('end', () => {
    ended = true;
    if (!failed) deliver();
  });
  stream.resume();

  return {
    pause: () => {
      paused = true;
      stream.pause();
    },
    resume: () => {
      if (!paused || failed) return;
      paused = false;
      deliver();
      if (!paused && !failed) stream.resume();
    },
  };
}
