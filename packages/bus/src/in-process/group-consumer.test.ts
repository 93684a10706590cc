import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@iocbus/testing';
import { makeRecords, Recorder } from '../contract.suite.js';
import { BusError, BusErrorCode } from '../errors.js';
import { deferred } from '../util.js';
import { createInProcessBus } from './bus.js';

function setup(partitions = 2, maxBatchRecords = 10) {
  const bus = createInProcessBus({ maxBatchRecords });
  bus.broker.ensureTopic({ name: 't', partitions });
  return bus;
}

test('a rebalance waits for the batch in flight and makes it stale; its records come back', async () => {
  const bus = setup(2);
  await bus.log.append('t', makeRecords(40));
  const release = deferred<void>();
  const entered = deferred<void>();
  let staleSeen: boolean | undefined;
  const a = new Recorder(undefined, async (batch) => {
    if (staleSeen !== undefined) return;
    entered.resolve();
    await release.promise;
    staleSeen = batch.isStale();
  });
  await a.join(bus, 'g', ['t']);
  await entered.promise;
  const b = new Recorder();
  const joined = b.join(bus, 'g', ['t']);
  // The join cannot complete while a's batch is in flight.
  const first = await Promise.race([joined.then(() => 'joined'), new Promise((r) => setImmediate(() => r('waiting')))]);
  assert.equal(first, 'waiting');
  release.resolve();
  await joined;
  assert.equal(staleSeen, true);
  await waitFor(() => a.records.length + b.records.length === 40, { message: 'all 40 once' });
  const ids = [...a.records, ...b.records].map((r) => r.headers.ce_id);
  assert.equal(new Set(ids).size, 40);
  await Promise.all([a.consumer.stop(), b.consumer.stop()]);
});

test('catching up yields to the event loop between batches', async () => {
  const bus = setup(1, 100);
  await bus.log.append('t', makeRecords(20_000));
  const rec = new Recorder();
  let recordsWhenTimerFired = -1;
  setTimeout(() => {
    recordsWhenTimerFired = rec.records.length;
  }, 0);
  await rec.join(bus, 'g', ['t']);
  await waitFor(() => rec.records.length === 20_000, { message: 'caught up' });
  assert.ok(recordsWhenTimerFired >= 0 && recordsWhenTimerFired < 20_000, `timer ran mid-way (${recordsWhenTimerFired})`);
  await rec.consumer.stop();
});

test('partitions are dealt round-robin across members in member order', async () => {
  const bus = setup(5);
  const members = [new Recorder(), new Recorder(), new Recorder()];
  for (const m of members) await m.join(bus, 'g', ['t']);
  await waitFor(() => members.every((m) => m.owned().length > 0), { message: 'all assigned' });
  const owned = members.map((m) => m.consumer.assignment().map((tp) => tp.partition));
  assert.deepEqual(owned, [[0, 3], [1, 4], [2]]);
  await Promise.all(members.map((m) => m.consumer.stop()));
});

test('a throwing onAssigned stops the member; commits after stop are refused as closed', async () => {
  const bus = setup(1);
  const consumer = await bus.source.joinGroup({
    groupId: 'g',
    topics: ['t'],
    onAssigned: async () => {
      throw new Error('checkpoint store down');
    },
    onRevoked: async () => {},
    onBatch: async () => {},
  });
  const error = await consumer.closed;
  assert.ok(error instanceof BusError && error.code === BusErrorCode.HandlerFailed);
  assert.match(error.message, /checkpoint store down/);
  await assert.rejects(
    consumer.commit([{ topic: 't', partition: 0, offset: '0' }]),
    (err: unknown) => err instanceof BusError && err.code === BusErrorCode.Closed,
  );
});

test('joining a topic that does not exist fails with IOC_BUS_UNKNOWN_TOPIC', async () => {
  const bus = setup(1);
  await assert.rejects(
    bus.source.joinGroup({ groupId: 'g', topics: ['nope'], onAssigned: async () => {}, onRevoked: async () => {}, onBatch: async () => {} }),
    (err: unknown) => err instanceof BusError && err.code === BusErrorCode.UnknownTopic,
  );
});

test('closing the bus stops its members, which hand their partitions back', async () => {
  const bus = setup(2);
  const rec = new Recorder();
  await rec.join(bus, 'g', ['t']);
  await waitFor(() => rec.owned().length === 2, { message: 'assigned' });
  await bus.close();
  assert.equal(await rec.consumer.closed, undefined);
  assert.equal(rec.revoked.at(-1)?.reason, 'stopping');
  await assert.rejects(bus.log.append('t', makeRecords(1)), (err: unknown) => err instanceof BusError && err.code === BusErrorCode.Closed);
});
