import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createInProcessBus, partitionForKey, type AppendedRecord, type BusRecord, type EventLog } from '@iocbus/bus';
import { MicroBatcher, recordBytes, type BatcherOptions } from './batcher.js';
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
    maxRequestBytes: 4_000_000,
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

/** Keeps each produce request's records; forwards to the in-process log, with or without its partition count. */
class RecordingLog implements EventLog {
  readonly requests: (readonly BusRecord[])[] = [];
  knownPartitionCount?: (topic: string) => number | undefined;

  constructor(private readonly inner: EventLog, tellsPartitions: boolean) {
    if (tellsPartitions) this.knownPartitionCount = (topic) => inner.knownPartitionCount?.(topic);
  }

  async append(topic: string, records: readonly BusRecord[]): Promise<AppendedRecord[]> {
    this.requests.push(records);
    // Yield, so that submissions made meanwhile queue behind this request.
    await new Promise((r) => setImmediate(r));
    return this.inner.append(topic, records);
  }

  async close(): Promise<void> {}
}

test('the byte limit applies per partition (as Kafka applies max.message.bytes per partition batch); all records land, in order per key', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.array(fc.record({ key: fc.integer({ min: 0, max: 30 }), size: fc.integer({ min: 0, max: 400 }) }), { minLength: 1, maxLength: 60 }), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.integer({ min: 300, max: 3000 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 5, max: 80 }),
      fc.boolean(),
      async (partitions, submissions, maxBatchBytes, requestFactor, maxBatchRecords, tellsPartitions) => {
        const bus = createInProcessBus();
        await bus.admin.ensureTopics([{ name: TOPIC, partitions }]);
        const log = new RecordingLog(bus.log, tellsPartitions);
        const maxRequestBytes = maxBatchBytes * requestFactor;
        const batcher = new MicroBatcher({
          log,
          topic: TOPIC,
          lingerMs: 0,
          maxBatchRecords,
          maxBatchBytes,
          maxRequestBytes,
          maxPendingRecords: 1_000_000,
          maxConcurrentAppends: 1,
          queueTimeoutMs: 60_000,
        });
        let n = 0;
        const sent = submissions.map((s) => s.map(({ key, size }) => ({ key: `key-${key}`, value: Buffer.alloc(size, 1), headers: { n: String(n++) } })));
        await Promise.all(sent.map((records) => batcher.submit(records)));
        for (const request of log.requests) {
          assert.ok(request.length <= maxBatchRecords);
          const perPartition = new Map<number, number>();
          let total = 0;
          for (const r of request) {
            // Without the count, the whole request is held to the per-partition limit, as before.
            const p = tellsPartitions ? partitionForKey(r.key, partitions) : 0;
            perPartition.set(p, (perPartition.get(p) ?? 0) + recordBytes(r));
            total += recordBytes(r);
          }
          // A single record over a limit still goes, alone in its partition.
          for (const [p, bytes] of perPartition) {
            const alone = request.filter((r) => (tellsPartitions ? partitionForKey(r.key, partitions) : 0) === p).length === 1;
            assert.ok(bytes <= maxBatchBytes || alone, `partition ${p}: ${bytes} > ${maxBatchBytes}`);
          }
          assert.ok(total <= maxRequestBytes || request.length === 1, `request ${total} > ${maxRequestBytes}`);
        }
        // Everything landed once, and each key's records in the order they were submitted.
        const onTopic = await bus.source.readToEnd(TOPIC);
        assert.equal(onTopic.length, n);
        const byKey = new Map<string, number[]>();
        for (const r of onTopic.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))) {
          byKey.set(r.key, [...(byKey.get(r.key) ?? []), Number(r.headers.n)]);
        }
        for (const ns of byKey.values()) assert.deepEqual(ns, [...ns].sort((a, b) => a - b));
      },
    ),
    { numRuns: 150 },
  );
});

test('spread keys share one request up to maxBatchBytes per partition; skewed keys are split at maxBatchBytes', async () => {
  const bus = createInProcessBus();
  await bus.admin.ensureTopics([{ name: TOPIC, partitions: 4 }]);
  const options = { topic: TOPIC, lingerMs: 0, maxBatchRecords: 10_000, maxBatchBytes: 10_000, maxRequestBytes: 40_000, maxPendingRecords: 1e6, maxConcurrentAppends: 1, queueTimeoutMs: 60_000 };
  const keysOn = (partition: number, count: number) => {
    const keys: string[] = [];
    for (let i = 0; keys.length < count; i++) if (partitionForKey(`k${i}`, 4) === partition) keys.push(`k${i}`);
    return keys;
  };
  // 90 records of 100 bytes (+16) on each partition, taken in turn: 10,440 bytes per partition, 41,760 in all.
  const onEach = [0, 1, 2, 3].map((p) => keysOn(p, 90));
  const spread = Array.from({ length: 360 }, (_, i) => ({ key: onEach[i % 4]![Math.floor(i / 4)]!, value: Buffer.alloc(100), headers: {} }));
  const log = new RecordingLog(bus.log, true);
  await new MicroBatcher({ log, ...options }).submit(spread);
  const spreadSizes = log.requests.map((r) => r.length);
  assert.deepEqual(spreadSizes, greedySizes(spread, 4, options));
  // About 83 records (~120 bytes) per partition: the first request carries about 4 times one partition's limit.
  assert.ok(spreadSizes[0]! > 320, `${spreadSizes}`);

  const skewed = keysOn(2, 360).map((key) => ({ key, value: Buffer.alloc(100), headers: {} }));
  const skewedLog = new RecordingLog(bus.log, true);
  await new MicroBatcher({ log: skewedLog, ...options }).submit(skewed);
  const skewedSizes = skewedLog.requests.map((r) => r.length);
  assert.deepEqual(skewedSizes, greedySizes(skewed, 4, options));
  assert.ok(skewedSizes.length >= 5 && skewedSizes[0]! < 90, `${skewedSizes}`);
});

/** The plain model: in order, a request ends where one more record would overfill its partition or the request. */
function greedySizes(records: readonly BusRecord[], partitions: number, limits: { maxBatchBytes: number; maxRequestBytes: number }): number[] {
  const sizes: number[] = [];
  let perPartition = new Map<number, number>();
  let total = 0;
  let count = 0;
  for (const r of records) {
    const p = partitionForKey(r.key, partitions);
    const bytes = recordBytes(r);
    if (count > 0 && ((perPartition.get(p) ?? 0) + bytes > limits.maxBatchBytes || total + bytes > limits.maxRequestBytes)) {
      sizes.push(count);
      perPartition = new Map();
      total = 0;
      count = 0;
    }
    perPartition.set(p, (perPartition.get(p) ?? 0) + bytes);
    total += bytes;
    count++;
  }
  sizes.push(count);
  return sizes;
}

async function waitUntil(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(predicate(), 'condition not reached');
}
