/**
 * The benches' raw-socket SSE reader (bench/sse-blocks.ts, used by the fan-out bench's 1,000 subscribers) against
 * streams cut at random places: events up to 300 KB (many reads), chunk boundaries independent of event
 * boundaries, chunk extensions, comments, multi-line data, UTF-8, writes of 1 byte to 100 KB; chunked and
 * close-delimited bodies. Every event must come out as sent, in order.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { openSseStream, type SseEvent } from '../../bench/sse-blocks.js';

const rnd = (n: number): number => Math.floor(Math.random() * n);

/** Cuts `bytes` into pieces of 1 to `max` bytes, half of them small. */
function pieces(bytes: Buffer, max: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + rnd(rnd(2) === 0 ? 20 : max);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

async function roundTrip(chunked: boolean, round: number): Promise<void> {
  const sent: SseEvent[] = [];
  let text = 'retry: 1000\n\n';
  for (let i = 0; i < 50; i++) {
    const lines = [`{"i":${i},`, `"s":"Phú Lộc ${rnd(4) === 0 ? 'x'.repeat(rnd(300_000)) : ''}"}`].slice(rnd(2));
    const e: SseEvent = { id: `tok-${round}-${i}`, event: ['snapshot', 'delta', 'heartbeat'][rnd(3)] as string, data: lines.join('\n') };
    sent.push(e);
    text += `${i % 7 === 0 ? ': a comment\n' : ''}id: ${e.id}\nevent: ${e.event}\n${lines.map((l) => `data: ${l}\n`).join('')}\n`;
  }
  const head = `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n${chunked ? 'transfer-encoding: chunked\r\n' : ''}\r\n`;
  const body = pieces(Buffer.from(text), 70_000).map((p) =>
    chunked ? Buffer.concat([Buffer.from(`${p.length.toString(16)}${rnd(5) === 0 ? ';ext=1' : ''}\r\n`), p, Buffer.from('\r\n')]) : p,
  );
  const wire = Buffer.concat([Buffer.from(head), ...body, Buffer.from(chunked ? '0\r\n\r\n' : '')]);
  const server = createServer((socket) => {
    socket.once('data', async () => {
      for (const p of pieces(wire, 100_000)) {
        socket.write(p);
        if (rnd(4) === 0) await new Promise((r) => setTimeout(r, 1));
      }
      socket.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  const got: SseEvent[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      openSseStream({ host: '127.0.0.1', port, path: '/', onEvent: (e) => got.push(e), onError: reject, onEnd: resolve });
    });
  } finally {
    server.close();
  }
  assert.deepEqual(got, sent, `chunked=${chunked}, round ${round}`);
}

test('openSseStream: every event of streams cut at random places, chunked and close-delimited', { timeout: 120_000 }, async () => {
  for (let round = 0; round < 30; round++) await roundTrip(round % 2 === 0, round);
});
