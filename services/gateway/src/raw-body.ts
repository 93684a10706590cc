import type { Readable } from 'node:stream';
import { errorCodes } from 'fastify';

type Payload = Readable & { receivedEncodedLength?: number };

/**
 * fastify's own body reader (lib/content-type-parser.js, rawBody) — same limit checks, same errors, same
 * Content-Length check — except that it hands over the chunks as they came instead of joining them into
 * one Buffer or string, for a parser that reads them in place (json-array.ts).
 */
export function readChunks(
  payload: Payload,
  contentLengthHeader: string | undefined,
  limit: number,
  done: (err: Error | null, chunks?: Buffer[]) => void,
): void {
  const contentLength = Number(contentLengthHeader);
  if (contentLength > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  let received = 0;
  const chunks: Buffer[] = [];

  function detach(): void {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
  }

  function onData(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    // The decoded body must stay under the limit too (a compressed body could grow past it).
    if (received > limit || (payload.receivedEncodedLength ?? 0) > limit) {
      detach();
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    chunks.push(bytes);
  }

  function onEnd(err?: Error & { statusCode?: number }): void {
    detach();
    if (err != null) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      done(err);
      return;
    }
    if (!Number.isNaN(contentLength) && (payload.receivedEncodedLength || received) !== contentLength) {
      done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    done(null, chunks);
  }

  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}
