import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusError, BusErrorCode } from '../errors.js';
import { partitionForKey } from '../murmur2.js';
import { InProcessBroker } from './broker.js';

const record = (key: string, value = 'v', timestamp?: number) => ({
  key,
  value: Buffer.from(value),
  headers: {},
  ...(timestamp === undefined ? {} : { timestamp }),
});

test('a call is all-or-nothing: one oversized record refuses the whole append', () => {
  const broker = new InProcessBroker();
  broker.ensureTopic({ name: 't', partitions: 2, config: { 'max.message.bytes': '100' } });
  assert.throws(
    () => broker.append('t', [record('a'), record('b', 'x'.repeat(200))]),
    (err: unknown) => err instanceof BusError && err.code === BusErrorCode.RecordTooLarge,
  );
  assert.deepEqual(broker.endOffsets('t').map((e) => e.high), ['0', '0']);
});

test('topic names, partition counts and configs are checked as Kafka checks them', () => {
  const broker = new InProcessBroker();
  const invalid = (spec: Parameters<InProcessBroker['ensureTopic']>[0]) =>
    assert.throws(() => broker.ensureTopic(spec), (err: unknown) => err instanceof BusError && err.code === BusErrorCode.InvalidRequest);
  invalid({ name: 'has space', partitions: 1 });
  invalid({ name: '..', partitions: 1 });
  invalid({ name: 'ok', partitions: 0 });
  invalid({ name: 'ok', partitions: 1, config: { 'cleanup.policy': 'shred' } });
  invalid({ name: 'ok', partitions: 1, config: { 'retention.ms': 'soon' } });
  broker.ensureTopic({ name: 'iocbus.aggregator-checkpoints.v1', partitions: 3, config: { 'cleanup.policy': 'compact', 'segment.ms': '60000' } });
  assert.equal(broker.partitionCount('iocbus.aggregator-checkpoints.v1'), 3);
});

test('retention drops records by timestamp and moves the log start; offsets never change', () => {
  let now = 1_000_000;
  const broker = new InProcessBroker({ now: () => now });
  broker.ensureTopic({ name: 't', partitions: 1, config: { 'retention.ms': '1000' } });
  broker.append('t', [record('a', '1'), record('a', '2')]);
  now += 600;
  broker.append('t', [record('a', '3')]);
  now += 600;
  assert.deepEqual(broker.offsets('t', 0), { low: 2, high: 3 });
  const read = broker.read('t', 0, 0, 10);
  assert.deepEqual(read.map((r) => [r.offset, r.value.toString()]), [['2', '3']]);
  // A record stamped with an event time older than the retention expires at once, as on Kafka:
  // time retention goes by record timestamps, not by when the record was appended.
  broker.ensureTopic({ name: 'late', partitions: 1, config: { 'retention.ms': '1000' } });
  broker.append('late', [record('a', 'old', now - 5000)]);
  assert.equal(broker.read('late', 0, 0, 10).length, 0);
  assert.deepEqual(broker.offsets('late', 0), { low: 1, high: 1 });
});

test('compaction keeps the latest record per key, so a checkpoint topic stays bounded', () => {
  const broker = new InProcessBroker();
  broker.ensureTopic({ name: 'c', partitions: 1, config: { 'cleanup.policy': 'compact' } });
  for (let round = 0; round < 500; round++) {
    broker.append('c', ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'].map((k) => record(k, `${round}`)));
  }
  const held = broker.read('c', 0, 0, 100_000);
  assert.ok(held.length < 2100, `compacted to ${held.length} of 4000`);
  const latest = new Map(held.map((r) => [r.key, r.value.toString()]));
  assert.equal(latest.size, 8);
  for (const value of latest.values()) assert.equal(value, '499');
  assert.deepEqual(broker.offsets('c', 0), { low: 0, high: 4000 }, 'compaction does not move the log start');
  for (let i = 1; i < held.length; i++) assert.ok(Number(held[i]!.offset) > Number(held[i - 1]!.offset));
});

test('records land on the murmur2 partition of their key', () => {
  const broker = new InProcessBroker();
  broker.ensureTopic({ name: 'k', partitions: 12, config: {} });
  const keys = Array.from({ length: 200 }, (_, i) => `000.00.17.H21-2507${i}`);
  const appended = broker.append('k', keys.map((k) => record(k)));
  appended.forEach((a, i) => assert.equal(a.partition, partitionForKey(keys[i]!, 12)));
});

test('reading an unknown topic or partition is an IOC_BUS_UNKNOWN_TOPIC', () => {
  const broker = new InProcessBroker();
  broker.ensureTopic({ name: 'one', partitions: 1 });
  for (const read of [() => broker.read('none', 0, 0, 1), () => broker.read('one', 1, 0, 1)]) {
    assert.throws(read, (err: unknown) => err instanceof BusError && err.code === BusErrorCode.UnknownTopic && !err.retriable);
  }
});
