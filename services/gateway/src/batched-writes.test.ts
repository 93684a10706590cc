import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { batchWrites } from './batched-writes.js';

/** Like grpc-js's server stream: `_write` queues on a transport and completes later, in order. */
function transportLike(fail?: (chunk: unknown) => boolean) {
  const sent: unknown[] = [];
  const stream = new Writable({
    objectMode: true,
    write(chunk, _encoding, callback) {
      sent.push(chunk);
      setImmediate(() => callback(fail?.(chunk) ? new Error(`lost ${String(chunk)}`) : null));
    },
  });
  stream.on('error', () => undefined);
  return { stream, sent };
}

test('a corked burst reaches _write in order, all before the first completes', async () => {
  const { stream, sent } = transportLike();
  assert.equal(batchWrites(stream), true);
  stream.cork();
  const done: number[] = [];
  for (let i = 0; i < 100; i++) stream.write(i, () => done.push(i));
  stream.uncork();
  assert.deepEqual(sent, Array.from({ length: 100 }, (_, i) => i), 'handed over at once, in order');
  await new Promise<void>((resolve) => stream.end(resolve));
  assert.deepEqual(done, Array.from({ length: 100 }, (_, i) => i), 'every write callback, in order');
});

test('without it the same burst is handed over one completion at a time', async () => {
  const { stream, sent } = transportLike();
  stream.cork();
  for (let i = 0; i < 100; i++) stream.write(i);
  stream.uncork();
  assert.deepEqual(sent, [0], 'the reason batchWrites exists');
  await new Promise<void>((resolve) => stream.end(resolve));
  assert.equal(sent.length, 100);
});

test('a failed write fails the stream once; later writes do not complete it again', async () => {
  const { stream } = transportLike((chunk) => chunk === 3);
  batchWrites(stream);
  stream.cork();
  for (let i = 0; i < 10; i++) stream.write(i);
  stream.uncork();
  const errors: Error[] = [];
  stream.removeAllListeners('error');
  stream.on('error', (err) => errors.push(err));
  await new Promise((r) => stream.once('close', r));
  assert.deepEqual(errors.map((e) => e.message), ['lost 3']);
});

test('a stream that has its own _writev is left alone', () => {
  const writev = (_chunks: unknown, callback: () => void) => callback();
  const stream = new Writable({ objectMode: true, write: (_c, _e, cb) => cb(), writev });
  assert.equal(batchWrites(stream), false);
  assert.equal((stream as unknown as { _writev: unknown })._writev, writev);
});
