/**
 * The benches' Server-Sent-Events readers.
 *
 * `onSseBlocks` takes node's http client response and calls `onBlock` with each complete event block (the text
 * between blank lines) and the time its chunk arrived, so a latency counts from the socket read, not from the
 * parsing after it.
 *
 * `openSseStream` is the lean one for many streams in one process (the fan-out bench's 1,000 subscribers): a raw
 * TCP socket, one GET, and a reader of the HTTP/1.1 response (status line, chunked or close-delimited body) and
 * of the event stream (id / event / data fields, comments, multi-line data; lines end in LF, as the view writes
 * them, a CR before it is dropped) over bytes. Sockets read into one
 * shared buffer (net's `onread`), so a read allocates nothing; only the event's fields become strings. Node's
 * http client costs a parser callback, a stream push, a string decoder and an event per chunk on top of that,
 * and the fan-out bench measured that client as much as the server (issue #5).
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';

const now = (): number => performance.timeOrigin + performance.now();

export function onSseBlocks(res: IncomingMessage, onBlock: (block: string, at: number) => void): void {
  res.setEncoding('utf8');
  let buf = '';
  res.on('data', (chunk: string) => {
    const at = now();
    buf += chunk;
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      onBlock(block, at);
    }
  });
}

export interface SseEvent {
  /** The `id:` field of this event ('' when it had none; SSE's last-event-id is not carried over here). */
  id: string;
  /** The `event:` field ('message' when absent). */
  event: string;
  /** The `data:` lines joined with '\n' (UTF-8 decoded). */
  data: string;
}

export interface SseStreamOptions {
  host: string;
  port: number;
  path: string;
  /** The response head was 200 with a text/event-stream body. */
  onOpen?(): void;
  /** Each complete event with a data field, and the time the read that completed it began. */
  onEvent(event: SseEvent, at: number): void;
  /** A non-200 answer, a malformed response or a socket error; the stream is closed. */
  onError(err: Error): void;
  /** The server ended the body or closed the connection. */
  onEnd?(): void;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
// One buffer for every socket's reads: `onread` callbacks run one at a time, and whatever a read leaves
// incomplete is copied out before the next read can overwrite it.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const HEAD_END = Buffer.from('\r\n\r\n');
const BLOCK_END = Buffer.from('\n\n');

type Stage = 'head' | 'size' | 'data' | 'data-crlf' | 'raw' | 'done';

/** One SSE stream over a raw socket; returns the socket (destroy it to close the stream). */
export function openSseStream(o: SseStreamOptions): Socket {
  let stage: Stage = 'head';
  let head: Buffer | undefined;
  let chunkLeft = 0;
  let sizeText = '';
  let sizeExt = false;
  let crlfLeft = 0;
  /** The unfinished event block (bytes after the last blank line), copied out of the shared buffer. */
  let carry: Buffer | undefined;
  let failed = false;

  const fail = (message: string): void => {
    if (failed) return;
    failed = true;
    stage = 'done';
    socket.destroy();
    o.onError(new Error(message));
  };

  /** Fields of the block b[s, e) (no trailing blank line). */
  const block = (b: Buffer, s: number, e: number, at: number): void => {
    let id = '';
    let event = 'message';
    let data: string | undefined;
    while (s < e) {
      let nl = b.indexOf(LF, s);
      if (nl < 0 || nl > e) nl = e;
      const lineEnd = nl > s && b[nl - 1] === CR ? nl - 1 : nl;
      if (b[s] !== COLON) {
        let colon = b.indexOf(COLON, s);
        if (colon < 0 || colon > lineEnd) colon = lineEnd;
        let v = colon + 1;
        if (v < lineEnd && b[v] === SPACE) v++;
        if (v > lineEnd) v = lineEnd;
        const name = b.toString('latin1', s, colon);
        if (name === 'data') data = data === undefined ? b.toString('utf8', v, lineEnd) : `${data}\n${b.toString('utf8', v, lineEnd)}`;
        else if (name === 'event') event = b.toString('utf8', v, lineEnd);
        else if (name === 'id') id = b.toString('utf8', v, lineEnd);
        // retry and unknown fields: nothing for this reader to do.
      }
      s = nl + 1;
    }
    if (data !== undefined) {
      o.onEvent({ id, event, data }, at);
    }
  };

  /** Event-stream bytes b[s, e). */
  const body = (b: Buffer, s: number, e: number, at: number): void => {
    if (carry !== undefined) {
      const joined = Buffer.concat([carry, b.subarray(s, e)]);
      carry = undefined;
      b = joined;
      s = 0;
      e = joined.length;
    }
    const view = b.subarray(0, e);
    for (let end = view.indexOf(BLOCK_END, s); end >= 0; end = view.indexOf(BLOCK_END, s)) {
      block(b, s, end, at);
      s = end + 2;
      if (failed) return;
    }
    if (s < e) carry = Buffer.from(b.subarray(s, e));
  };

  const parseHead = (text: string): void => {
    const lines = text.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (status === null) return fail(`not an HTTP/1.x response: ${lines[0]}`);
    if (status[1] !== '200') return fail(`stream answered ${status[1]}`);
    let chunked = false;
    let type = '';
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === 'transfer-encoding') chunked = value.split(',').map((t) => t.trim()).includes('chunked');
      else if (name === 'content-type') type = value;
    }
    if (!type.startsWith('text/event-stream')) return fail(`stream content-type is "${type}"`);
    stage = chunked ? 'size' : 'raw';
    o.onOpen?.();
  };

  const read = (n: number, b: Buffer): void => {
    const at = now();
    let i = 0;
    while (i < n && !failed) {
      switch (stage) {
        case 'head': {
          const joined = head === undefined ? b.subarray(0, n) : Buffer.concat([head, b.subarray(0, n)]);
          const offset = head === undefined ? 0 : head.length;
          const end = joined.indexOf(HEAD_END);
          if (end < 0) {
            head = Buffer.from(joined);
            if (head.length > 16_384) fail('response head over 16 KiB');
            i = n;
            break;
          }
          head = undefined;
          parseHead(joined.toString('latin1', 0, end));
          i = end + 4 - offset;
          break;
        }
        case 'size': {
          // Hex digits, optional ";extension", CRLF.
          const c = b[i++] as number;
          if (c === LF) {
            if (sizeText === '') return fail('empty chunk size');
            chunkLeft = Number.parseInt(sizeText, 16);
            sizeText = '';
            sizeExt = false;
            if (chunkLeft === 0) {
              stage = 'done';
              socket.end();
              o.onEnd?.();
            } else stage = 'data';
          } else if (c === 0x3b) sizeExt = true;
          else if (!sizeExt && c !== CR) {
            if (sizeText.length > 8 || !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return fail('bad chunk size');
            sizeText += String.fromCharCode(c);
          }
          break;
        }
        case 'data': {
          const take = Math.min(chunkLeft, n - i);
          body(b, i, i + take, at);
          i += take;
          chunkLeft -= take;
          if (chunkLeft === 0) {
            stage = 'data-crlf';
            crlfLeft = 2;
          }
          break;
        }
        case 'data-crlf': {
          const c = b[i++] as number;
          if ((crlfLeft === 2 && c !== CR) || (crlfLeft === 1 && c !== LF)) return fail('chunk not followed by CRLF');
          if (--crlfLeft === 0) stage = 'size';
          break;
        }
        case 'raw':
          body(b, i, n, at);
          i = n;
          break;
        case 'done':
          i = n;
          break;
      }
    }
  };

  const socket = connect({
    host: o.host,
    port: o.port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, b: Uint8Array) => {
        read(n, b as Buffer);
        return true;
      },
    },
  });
  socket.on('connect', () => {
    socket.write(`GET ${o.path} HTTP/1.1\r\nhost: ${o.host}:${o.port}\r\naccept: text/event-stream\r\ncache-control: no-cache\r\n\r\n`);
  });
  socket.on('end', () => {
    if (failed) return;
    if (stage === 'raw') o.onEnd?.();
    else if (stage !== 'done') fail('connection closed inside the response');
    stage = 'done';
  });
  socket.on('error', (err) => fail(err.message));
  return socket;
}
