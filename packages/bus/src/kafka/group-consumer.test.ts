import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as work } from 'node:timers/promises';
import { kcatCount, startKafka, uniqueName, waitFor, type KafkaBroker } from '@iocbus/testing';
import { makeRecords, Recorder } from '../contract.suite.js';
import { BusError, BusErrorCode } from '../errors.js';
import type { ConsumedRecord, GroupConsumer, GroupConsumerOptions, PartitionBatch } from '../ports.js';
import { keyOf } from '../util.js';
import { createKafkaBus, type KafkaBus } from './bus.js';
import type { KafkaBusOptions } from './options.js';
import { testBusOptions } from './test-support.js';

let broker: KafkaBroker;
const buses: KafkaBus[] = [];
before(async () => {
  broker = await startKafka();
});
after(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await broker?.stop();
});

function openBus(overrides: Partial<KafkaBusOptions> = {}): KafkaBus {
  const bus = createKafkaBus(testBusOptions(broker.brokers, overrides));
  buses.push(bus);
  return bus;
}

async function topicWith(bus: KafkaBus, partitions: number): Promise<string> {
  const name = uniqueName('bus-group');
  await bus.admin.ensureTopics([{ name, partitions }]);
  return name;
}

/**
 * Applies a batch only together with its offset commit, the way the aggregator applies state only
 * together with a checkpoint: a batch whose commit the group refuses is dropped and comes back.
 */
class CommitThenAccept {
  readonly accepted: ConsumedRecord[] = [];
  consumer!: GroupConsumer;
  stopAfter = Infinity;

  async join(bus: KafkaBus, groupId: string, topic: string): Promise<this> {
    const options: GroupConsumerOptions = {
      groupId,
      topics: [topic],
      onAssigned: async () => {},
      onRevoked: async () => {},
      onBatch: (batch) => this.onBatch(batch),
    };
    this.consumer = await bus.source.joinGroup(options);
    return this;
  }

  private async onBatch(batch: PartitionBatch): Promise<void> {
    if (batch.isStale()) return;
    const next = BigInt(batch.records[batch.records.length - 1]!.offset) + 1n;
    try {
      await this.consumer.commit([{ topic: batch.topic, partition: batch.partition, offset: String(next) }]);
    } catch (err) {
      if (err instanceof BusError && (err.code === BusErrorCode.CommitRejected || err.code === BusErrorCode.NotAssigned)) return;
      throw err;
    }
    this.accepted.push(...batch.records);
    // Stopping from inside a handler: not awaited, it waits for this very batch.
    if (this.accepted.length >= this.stopAfter) void this.consumer.stop();
  }
}

const idsOf = (records: readonly ConsumedRecord[]) => records.map((r) => r.headers.ce_id!);

describe('Kafka group consumer', () => {
  test('every record exactly once across a stop, a restart and a second member sharing the partitions', async () => {
    const bus = openBus();
    const topic = await topicWith(bus, 4);
    const group = uniqueName('bus-eo');
    await bus.log.append(topic, makeRecords(1000, 'first'));

    // Small fetches, so the first member stops part-way through.
    const a = await new CommitThenAccept().join(openBus({ consumer: { ...testBusOptions([]).consumer, maxBytesPerPartition: 2048 } }), group, topic);
    a.stopAfter = 300;
    assert.equal(await a.consumer.closed, undefined);
    assert.ok(a.accepted.length >= 300 && a.accepted.length < 1000, `first member stopped part-way (${a.accepted.length})`);

    await bus.log.append(topic, makeRecords(1000, 'second'));
    const b = await new CommitThenAccept().join(openBus(), group, topic);
    await waitFor(() => b.accepted.length > 0, { message: 'b consumes', timeoutMs: 30_000 });
    const c = await new CommitThenAccept().join(openBus(), group, topic);
    await waitFor(() => b.consumer.assignment().length === 2 && c.consumer.assignment().length === 2, {
      message: 'b and c hold two partitions each',
      timeoutMs: 30_000,
    });
    await bus.log.append(topic, makeRecords(1000, 'third'));
    await waitFor(() => a.accepted.length + b.accepted.length + c.accepted.length >= 3000, {
      message: '3000 records accepted',
      timeoutMs: 60_000,
    });
    assert.ok(b.accepted.length > 0 && c.accepted.length > 0, 'both members of the restarted group consumed');

    const all = [...a.accepted, ...b.accepted, ...c.accepted];
    const ids = idsOf(all);
    assert.equal(new Set(ids).size, ids.length, 'no record accepted twice');
    assert.equal(ids.length, 3000);
    assert.deepEqual(new Set(ids), new Set(idsOf(await bus.source.readToEnd(topic))));

    const ends = await bus.source.endOffsets(topic);
    const admin = bus.kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] }).finally(() => admin.disconnect());
    assert.deepEqual(
      committed!.partitions.map((p) => [p.partition, p.offset]).sort(),
      ends.map((e) => [e.partition, e.high]).sort(),
      'the group committed exactly the end of every partition',
    );
    assert.equal(await kcatCount({ brokers: broker.brokers, topic }), 3000, 'kcat counts the same records');
    await Promise.all([b.consumer.stop(), c.consumer.stop()]);
  });

  test('partitions kept through a rebalance continue where the member got to, not at the committed offset', async () => {
    const bus = openBus();
    const topic = await topicWith(bus, 4);
    const group = uniqueName('bus-keep');
    await bus.log.append(topic, makeRecords(400, 'old'));
    const a = new Recorder(() => 'earliest');
    await a.join(bus, group, [topic]);
    await waitFor(() => a.records.length === 400, { message: 'a read all 400', timeoutMs: 30_000 });

    // Nothing was committed: were kafkajs left to itself, kept partitions would restart at the beginning.
    const b = new Recorder(() => 'earliest');
    await b.join(openBus(), group, [topic]);
    await waitFor(() => a.owned().length === 2 && b.owned().length === 2, { message: 'a and b split', timeoutMs: 30_000 });
    await bus.log.append(topic, makeRecords(100, 'new'));
    const all = await bus.source.readToEnd(topic);
    const onB = all.filter((r) => b.owned().includes(keyOf(r)));
    const newOnA = all.filter((r) => a.owned().includes(keyOf(r)) && r.key.startsWith('new'));
    await waitFor(() => b.records.length === onB.length && a.records.length === 400 + newOnA.length, {
      message: 'new records delivered once',
      timeoutMs: 30_000,
    });
    const aOffsets = a.records.map((r) => `${keyOf(r)}@${r.offset}`);
    assert.equal(new Set(aOffsets).size, aOffsets.length, 'a saw no record twice');
    assert.equal(a.assigned.length, 1, 'kept partitions were not announced again');
    await Promise.all([a.consumer.stop(), b.consumer.stop()]);
  });

  test('a heartbeat inside a long batch notices a rebalance and the abandoned batch comes back', async () => {
    const bus = openBus();
    const topic = await topicWith(bus, 2);
    const group = uniqueName('bus-stale');
    await bus.log.append(topic, makeRecords(50));
    let inLongBatch = false;
    let sawStale = false;
    let abandoned: { key: string; first: string } | undefined;
    const a = new Recorder(undefined, async (batch, self) => {
      if (abandoned !== undefined || self.records.length > 0) return;
      inLongBatch = true;
      // Simulated slow processing, far longer than a session timeout would allow without heartbeats.
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        await batch.heartbeat();
        if (batch.isStale()) break;
        await work(100);
      }
      sawStale = batch.isStale();
      abandoned = { key: keyOf(batch), first: batch.records[0]!.offset };
    });
    await a.join(bus, group, [topic]);
    await waitFor(() => inLongBatch, { message: 'a inside its long batch', timeoutMs: 30_000 });
    const b = new Recorder();
    await b.join(openBus(), group, [topic]);
    await waitFor(() => abandoned !== undefined, { message: 'the long batch to end', timeoutMs: 30_000 });
    assert.ok(sawStale, 'the batch turned stale when the group rebalanced');
    await waitFor(() => a.records.length + b.records.length === 50, { message: 'all 50 delivered', timeoutMs: 30_000 });
    const ids = idsOf([...a.records, ...b.records]);
    assert.equal(new Set(ids).size, 50, 'the abandoned batch was delivered again, once');
    // Whoever holds the abandoned partition now was told about it afresh.
    const holder = a.owned().includes(abandoned!.key) ? a : b;
    assert.ok(holder.events.includes(`assigned ${abandoned!.key}`));
    if (holder === a) assert.ok(a.events.includes(`revoked ${abandoned!.key} revoked`), 'a kept it, so it was re-announced');
    await Promise.all([a.consumer.stop(), b.consumer.stop()]);
  });

  test('a member whose session expired mid-batch finds its partitions lost, then rejoins', async () => {
    const bus = openBus();
    const topic = await topicWith(bus, 2);
    const group = uniqueName('bus-lost');
    await bus.log.append(topic, makeRecords(20, 'before'));
    let expiredBatch: { staleAfterHeartbeat: boolean } | undefined;
    const a = new Recorder(() => 'earliest', async (batch) => {
      if (expiredBatch !== undefined) return;
      // No heartbeat for longer than the 6 s session: the coordinator drops the member.
      await work(8000);
      await batch.heartbeat();
      expiredBatch = { staleAfterHeartbeat: batch.isStale() };
    });
    await a.join(bus, group, [topic]);
    const b = new Recorder(() => 'earliest');
    await waitFor(() => a.events.some((e) => e.startsWith('batch')), { message: 'a inside its batch', timeoutMs: 30_000 });
    await b.join(openBus(), group, [topic]);
    await waitFor(() => expiredBatch !== undefined, { message: 'the expired batch to end', timeoutMs: 30_000 });
    assert.equal(expiredBatch!.staleAfterHeartbeat, true, 'the heartbeat found the membership gone');
    await waitFor(() => a.revoked.some((r) => r.reason === 'lost'), { message: 'a told its partitions were lost', timeoutMs: 30_000 });
    await waitFor(() => a.owned().length === 1 && b.owned().length === 1, { message: 'a rejoined and the group split again', timeoutMs: 30_000 });
    const lostAt = a.events.findIndex((e) => e.endsWith(' lost'));
    assert.ok(a.events.slice(lostAt).some((e) => e.startsWith('assigned')), 'a was assigned afresh after the loss');

    const before = new Set([...a.records, ...b.records].map((r) => r.headers.ce_id));
    await bus.log.append(topic, makeRecords(40, 'after'));
    await waitFor(() => [...a.records, ...b.records].filter((r) => r.key.startsWith('after')).length >= 40, {
      message: 'records after the recovery',
      timeoutMs: 30_000,
    });
    const after = [...a.records, ...b.records].filter((r) => r.key.startsWith('after')).map((r) => r.headers.ce_id);
    assert.equal(new Set(after).size, 40, 'every later record delivered once');
    assert.ok([...before].length >= 20, 'every earlier record was delivered to someone');
    await Promise.all([a.consumer.stop(), b.consumer.stop()]);
  });
});
