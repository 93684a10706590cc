import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createInProcessBus, type BusRecord } from '@iocbus/bus';
import { MicroBatcher, type BatcherOptions } from './batcher.js';
import { GatewayError } from './errors.js';
import { GatedLog } from './test-support.js';

const TOPIC = 'batcher-test';

function record(i: number, bytes = 10): BusRecord {
  return { key: `k${i % 7}`, value: Buffer.alloc(bytes, i % 256), headers: { n: String(i) } };
}

async function setup(options: Partial<BatcherOptions> = {}) {
  const bus = createInProcessBus();
  await bus.admin.ensureTopics([{ name: TOPIC, partitions: 3 }]);
  const log = new GatedLog(bus.log);
  const batcher = new MicroBatcher({
    log,
    topic: TOPIC,
    lingerMs: 5,
    maxBatchRecords: 100,
    maxBatchBytes: 1_000_000,
    maxPendingRecords: 10_000,
    maxConcurrentAppends: 1,
    queueTimeoutMs: 60_000,
    ...options,
  });
  const onTopic = async () => (await bus.source.readToEnd(TOPIC)).map((r) => r.headers.n);
  return { bus, log, batcher, onTopic };
}

test('submissions arriving together share produce requests, and each resolves once its records are written', async () => {
  const { log, batcher, onTopic } = await setup();
  const submissions = Array.from({ length: 50 }, (_, i) => batcher.submit([record(2 * i), record(2 * i + 1)]));
  await Promise.all(submissions);
  assert.equal((await onTopic()).length, 100);
  assert.deepEqual(log.sizes, [100]);
  assert.equal(batcher.pendingRecords, 0);
});

test('a batch never exceeds maxBatchRecords or maxBatchBytes; a big submission is split', async () => {
  const { log, batcher, onTopic } = await setup({ maxBatchRecords: 30, maxBatchBytes: 20 * 60 });
  await Promise.all([batcher.submit(Array.from({ length: 75 }, (_, i) => record(i, 20))), batcher.submit([record(75, 20)])]);
  assert.ok(log.sizes.every((n) => n <= 30), `sizes ${log.sizes}`);
  assert.equal(log.sizes.reduce((a, b) => a + b, 0), 76);
  const n = (await onTopic()).map(Number).sort((a, b) => a - b);
  assert.deepEqual(n, Array.from({ length: 76 }, (_, i) => i));
});

test('while a produce request is out, new records queue and leave together when it returns', async () => {
  const { log, batcher } = await setup();
  log.gated = true;
  const first = batcher.submit([record(0)]);
  await waitUntil(() => log.waiting === 1);
  const rest = Array.from({ length: 20 }, (_, i) => batcher.submit([record(i + 1)]));
  assert.equal(batcher.pendingRecords, 21);
  let firstDone = false;
  void first.then(() => (firstDone = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(firstDone, false, 'nothing is acknowledged before the log acknowledged it');
  log.release();
  await Promise.all([first, ...rest]);
  assert.deepEqual(log.sizes, [1, 20]);
});

test('a failed produce request fails every submission in it with a retriable error; the next one goes through', async () => {
  const { log, batcher, onTopic } = await setup();
  log.gated = true;
  const a = batcher.submit([record(1)]);
  await waitUntil(() => log.waiting === 1);
  log.failAll(Object.assign(new Error('broker down'), { retriable: true }));
  await assert.rejects(a, (err: unknown) => err instanceof GatewayError && err.code === 'IOC_GATEWAY_KAFKA_UNAVAILABLE' && err.retriable);
  log.gated = false;
  await batcher.submit([record(2)]);
  assert.deepEqual(await onTopic(), ['2']);
});

test('a non-retriable failure is reported as such', async () => {
  const { log, batcher } = await setup();
  log.gated = true;
  const a = batcher.submit([record(1)]);
  await waitUntil(() => log.waiting === 1);
  log.failAll(Object.assign(new Error('record too large'), { retriable: false }));
  await assert.rejects(a, (err: unknown) => err instanceof GatewayError && err.code === 'IOC_GATEWAY_KAFKA_REJECTED' && !err.retriable);
});

test('past maxPendingRecords new work is refused at once (503), not queued', async () => {
  const { log, batcher } = await setup({ maxPendingRecords: 10 });
  log.gated = true;
  const held = batcher.submit(Array.from({ length: 8 }, (_, i) => record(i)));
  await assert.rejects(batcher.submit([record(8), record(9), record(10)]), (err: unknown) => err instanceof GatewayError && err.code === 'IOC_GATEWAY_OVERLOADED');
  log.release();
  await held;
});

test('records that waited in the queue past the timeout are dropped, never written', async () => {
  let now = 0;
  const { log, batcher, onTopic } = await setup({ queueTimeoutMs: 1000, now: () => now });
  log.gated = true;
  const first = batcher.submit([record(1)]);
  await waitUntil(() => log.waiting === 1);
  const stale = batcher.submit([record(2)]);
  now = 5000;
  const fresh = batcher.submit([record(3)]);
  await assert.rejects(stale, (err: unknown) => err instanceof GatewayError && /nothing was written/.test(err.message));
  log.release();
  await Promise.all([first, fresh]);
  assert.deepEqual((await onTopic()).sort(), ['1', '3']);
});

test('drain sends what is queued at once and resolves when everything is acknowledged', async () => {
  const { batcher, onTopic } = await setup({ lingerMs: 60_000 });
  const pending = batcher.submit([record(1), record(2)]);
  await batcher.drain();
  await pending;
  assert.equal((await onTopic()).length, 2);
});

async function waitUntil(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(predicate(), 'condition not reached');
}
