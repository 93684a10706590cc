/**
 * The behaviour both adapters promise, as one suite each adapter's tests run against itself
 * (in-process: in memory; Kafka: against the real broker). Only what both guarantee is asserted.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { uniqueName, waitFor } from '@iocbus/testing';
import { BusError, BusErrorCode } from './errors.js';
import { partitionForKey } from './murmur2.js';
import type {
  AssignedPartition,
  Bus,
  BusRecord,
  ConsumedRecord,
  GroupConsumer,
  GroupConsumerOptions,
  PartitionBatch,
  RevokeReason,
  StartPosition,
  TopicPartition,
} from './ports.js';
import { keyOf } from './util.js';

export interface ContractTarget {
  name: string;
  /** A new client (Kafka) or bus (in-process) over the same backend as every other one it opens. */
  open(): Bus | Promise<Bus>;
  /** How long a group may take to settle after a member joins or leaves. */
  settleMs: number;
}

export function makeRecords(count: number, prefix = 'dossier'): BusRecord[] {
  // Recent timestamps: Kafka's time retention (7 days by default) goes by record timestamps.
  const base = Date.now() - 60_000;
  return Array.from({ length: count }, (_, i) => ({
    key: `${prefix}-${i % 37}`,
    value: Buffer.from(`value-${i}`),
    headers: { ce_id: `${prefix}-${i}`, ce_type: 'vn.gov.tthc.dossier.received' },
    timestamp: base + i,
  }));
}

/** A group member that records everything its callbacks see. */
export class Recorder {
  readonly records: ConsumedRecord[] = [];
  readonly assigned: AssignedPartition[][] = [];
  readonly revoked: Array<{ partitions: TopicPartition[]; reason: RevokeReason }> = [];
  readonly events: string[] = [];
  consumer!: GroupConsumer;

  constructor(
    private readonly starts: (p: AssignedPartition) => StartPosition | undefined = () => undefined,
    private readonly onBatchExtra: (batch: PartitionBatch, self: Recorder) => Promise<void> | void = () => {},
  ) {}

  options(groupId: string, topics: string[]): GroupConsumerOptions {
    return {
      groupId,
      topics,
      onAssigned: async (partitions) => {
        this.assigned.push([...partitions]);
        for (const p of partitions) this.events.push(`assigned ${keyOf(p)}`);
        return partitions.flatMap((p) => {
          const start = this.starts(p);
          return start === undefined ? [] : [{ topic: p.topic, partition: p.partition, start }];
        });
      },
      onRevoked: async (partitions, reason) => {
        this.revoked.push({ partitions: [...partitions], reason });
        for (const p of partitions) this.events.push(`revoked ${keyOf(p)} ${reason}`);
      },
      onBatch: async (batch) => {
        this.events.push(`batch ${keyOf(batch)}`);
        await this.onBatchExtra(batch, this);
        if (!batch.isStale()) this.records.push(...batch.records);
      },
    };
  }

  failure: Error | undefined;

  async join(bus: Bus, groupId: string, topics: string[]): Promise<GroupConsumer> {
    this.consumer = await bus.source.joinGroup(this.options(groupId, topics));
    void this.consumer.closed.then((err) => {
      this.failure = err;
    });
    return this.consumer;
  }

  /** For failure messages: what this member was told, and whether it stopped. */
  trace(): string {
    return `events ${JSON.stringify(this.events.slice(-20))}, failure ${this.failure === undefined ? 'none' : this.failure.message}`;
  }

  owned(): string[] {
    return this.consumer.assignment().map(keyOf).sort();
  }
}

/** waitFor, failing with what the members saw, so a flake explains itself. */
async function settle(check: () => boolean, message: string, timeoutMs: number, ...members: Recorder[]): Promise<void> {
  try {
    await waitFor(check, { message, timeoutMs });
  } catch (err) {
    const traces = members.map((m, i) => `member ${i}: ${m.trace()}`).join('; ');
    throw new Error(`${(err as Error).message}; ${traces}`, { cause: err });
  }
}

const ids = (records: readonly ConsumedRecord[]): string[] => records.map((r) => r.headers.ce_id!).sort();

export function runContract(target: ContractTarget): void {
  describe(`bus contract: ${target.name}`, () => {
    async function setup(t: TestContext, partitions = 3, config?: Record<string, string>) {
      const bus = await target.open();
      t.after(() => bus.close());
      const topic = uniqueName('contract');
      await bus.admin.ensureTopics([{ name: topic, partitions, ...(config ? { config } : {}) }]);
      return { bus, topic };
    }

    test('append places records by murmur2 key hash, in order, and reads them back intact', async (t) => {
      const { bus, topic } = await setup(t, 4);
      const records = makeRecords(100);
      const appended = await bus.log.append(topic, records);
      assert.equal(appended.length, records.length);
      const nextByPartition = new Map<number, bigint>();
      appended.forEach((a, i) => {
        assert.equal(a.topic, topic);
        assert.equal(a.partition, partitionForKey(records[i]!.key, 4), `record ${i} partition`);
        const offset = BigInt(a.offset);
        const prev = nextByPartition.get(a.partition);
        if (prev !== undefined) assert.equal(offset, prev, `offsets of partition ${a.partition} are consecutive`);
        nextByPartition.set(a.partition, offset + 1n);
      });
      const read = await bus.source.readToEnd(topic);
      assert.equal(read.length, records.length);
      const byId = new Map(read.map((r) => [r.headers.ce_id, r]));
      records.forEach((rec, i) => {
        const got = byId.get(rec.headers.ce_id)!;
        assert.equal(got.key, rec.key);
        assert.deepEqual(got.value, rec.value);
        assert.deepEqual(got.headers, rec.headers);
        assert.equal(got.timestamp, rec.timestamp);
        assert.equal(got.partition, appended[i]!.partition);
        assert.equal(got.offset, appended[i]!.offset);
      });
      const ends = await bus.source.endOffsets(topic);
      assert.equal(ends.length, 4);
      assert.equal(ends.reduce((n, e) => n + Number(e.high) - Number(e.low), 0), 100);
    });

    test('ensureTopics is idempotent and topics are never created implicitly', async (t) => {
      const { bus, topic } = await setup(t, 2);
      await bus.admin.ensureTopics([{ name: topic, partitions: 5 }]);
      assert.equal(await bus.admin.partitionCount(topic), 2, 'an existing topic is left as it is');
      await assert.rejects(
        bus.log.append(uniqueName('missing'), makeRecords(1)),
        (err: unknown) => err instanceof BusError && err.code === BusErrorCode.UnknownTopic && !err.retriable,
      );
      await assert.rejects(
        bus.admin.ensureTopics([{ name: uniqueName('bad'), partitions: 1, config: { 'no.such.config': 'x' } }]),
        (err: unknown) => err instanceof BusError && err.code === BusErrorCode.InvalidRequest,
      );
    });

    test('scanToEnd stops at the end the log had when called', async (t) => {
      const { bus, topic } = await setup(t, 2);
      await bus.log.append(topic, makeRecords(40));
      const seen: ConsumedRecord[] = [];
      let appendedDuringScan = false;
      const ends = await bus.source.scanToEnd(topic, async (records) => {
        seen.push(...records);
        if (!appendedDuringScan) {
          appendedDuringScan = true;
          await bus.log.append(topic, makeRecords(10, 'late'));
        }
      });
      assert.equal(seen.length, 40);
      assert.equal(ends.reduce((n, e) => n + Number(e.high), 0), 40);
      assert.equal((await bus.source.readToEnd(topic)).length, 50);
      const one = await bus.source.readToEnd(topic, { partitions: [1] });
      assert.ok(one.every((r) => r.partition === 1));
    });

    test('a lone member gets every partition, starts where told, and stops handing them back', async (t) => {
      const { bus, topic } = await setup(t, 3);
      await bus.log.append(topic, makeRecords(60));
      const rec = new Recorder();
      const consumer = await rec.join(bus, uniqueName('group'), [topic]);
      await waitFor(() => rec.records.length === 60, { message: '60 records', timeoutMs: target.settleMs });
      assert.equal(rec.assigned.length, 1);
      assert.deepEqual(rec.assigned[0]!.map((p) => p.partition).sort(), [0, 1, 2]);
      for (const p of rec.assigned[0]!) {
        assert.equal(p.committedOffset, null);
        assert.equal(p.lowWatermark, '0');
      }
      assert.equal(rec.assigned[0]!.reduce((n, p) => n + Number(p.highWatermark), 0), 60);
      assert.deepEqual(rec.owned().length, 3);
      await consumer.stop();
      assert.equal(await consumer.closed, undefined);
      assert.deepEqual(rec.revoked, [{ partitions: rec.assigned[0]!.map(({ topic: tp, partition }) => ({ topic: tp, partition })).sort((a, b) => a.partition - b.partition), reason: 'stopping' }]);
      assert.deepEqual(ids(rec.records), ids(await bus.source.readToEnd(topic)));
    });

    test('committed offsets survive the member; nothing is committed unless asked', async (t) => {
      const { bus, topic } = await setup(t, 2);
      const group = uniqueName('group');
      await bus.log.append(topic, makeRecords(30));
      const first = new Recorder();
      await first.join(bus, group, [topic]);
      await waitFor(() => first.records.length === 30, { message: 'first 30', timeoutMs: target.settleMs });
      const ends = await bus.source.endOffsets(topic);
      await first.consumer.commit([{ topic, partition: 0, offset: ends[0]!.high }]);
      await first.consumer.stop();

      await bus.log.append(topic, makeRecords(20, 'second'));
      const second = new Recorder();
      await second.join(bus, group, [topic]);
      await waitFor(() => second.assigned.length === 1, { message: 'assignment', timeoutMs: target.settleMs });
      const byPartition = new Map(second.assigned[0]!.map((p) => [p.partition, p]));
      assert.equal(byPartition.get(0)!.committedOffset, ends[0]!.high);
      assert.equal(byPartition.get(1)!.committedOffset, null, 'partition 1 was never committed');
      const all = await bus.source.readToEnd(topic);
      const expected = all.filter((r) => r.partition === 1 || BigInt(r.offset) >= BigInt(ends[0]!.high));
      await waitFor(() => second.records.length === expected.length, { message: `${expected.length} records` });
      assert.deepEqual(ids(second.records), ids(expected));
      await second.consumer.stop();
    });

    test('explicit start offsets and "latest" are honoured per partition', async (t) => {
      const { bus, topic } = await setup(t, 2);
      const appended = await bus.log.append(topic, makeRecords(40));
      const rec = new Recorder((p) => (p.partition === 0 ? { offset: '5' } : 'latest'));
      await rec.join(bus, uniqueName('group'), [topic]);
      await waitFor(() => rec.assigned.length === 1, { message: 'assignment', timeoutMs: target.settleMs });
      const later = await bus.log.append(topic, makeRecords(10, 'later'));
      const expected = [
        ...appended.filter((a) => a.partition === 0 && BigInt(a.offset) >= 5n),
        ...later,
      ].length;
      await waitFor(() => rec.records.length === expected, { message: `${expected} records` });
      assert.ok(rec.records.filter((r) => r.partition === 0).every((r) => BigInt(r.offset) >= 5n));
      assert.ok(rec.records.filter((r) => r.partition === 1).every((r) => r.key.startsWith('later')));
      await rec.consumer.stop();
    });

    test('joining a group over a topic that does not exist fails with IOC_BUS_UNKNOWN_TOPIC', async (t) => {
      const { bus } = await setup(t, 1);
      await assert.rejects(
        bus.source.joinGroup(new Recorder().options(uniqueName('group'), [uniqueName('missing')])),
        (err: unknown) => err instanceof BusError && err.code === BusErrorCode.UnknownTopic,
      );
      await assert.rejects(
        bus.source.readToEnd(uniqueName('missing')),
        (err: unknown) => err instanceof BusError && err.code === BusErrorCode.UnknownTopic,
      );
    });

    test('onRevoked may commit while stopping, but not after a rebalance took the partitions', async (t) => {
      const { bus, topic } = await setup(t, 2);
      const other = await target.open();
      t.after(() => other.close());
      const group = uniqueName('group');
      await bus.log.append(topic, makeRecords(30));
      const outcomes: string[] = [];
      const positions = new Map<number, string>();
      const a = new Recorder(undefined, (batch) => {
        positions.set(batch.partition, String(BigInt(batch.records.at(-1)!.offset) + 1n));
      });
      const options = a.options(group, [topic]);
      a.consumer = await bus.source.joinGroup({
        ...options,
        onRevoked: async (partitions, reason) => {
          await options.onRevoked(partitions, reason);
          const offsets = partitions.map((p) => ({ ...p, offset: positions.get(p.partition) ?? '0' }));
          try {
            await a.consumer.commit(offsets);
            outcomes.push(`${reason}: committed`);
          } catch (err) {
            outcomes.push(`${reason}: ${err instanceof BusError ? err.code : String(err)}`);
          }
        },
      });
      await waitFor(() => a.records.length === 30, { message: 'a read 30', timeoutMs: target.settleMs });
      const b = new Recorder();
      await b.join(other, group, [topic]);
      await waitFor(() => a.owned().length === 1 && b.owned().length === 1, { message: 'split', timeoutMs: target.settleMs });
      await a.consumer.stop();
      assert.deepEqual(outcomes, [`revoked: ${BusErrorCode.NotAssigned}`, 'stopping: committed']);
      await b.consumer.stop();
      const c = new Recorder();
      await c.join(bus, group, [topic]);
      await waitFor(() => c.assigned.length === 1, { message: 'c assigned', timeoutMs: target.settleMs });
      const kept = a.revoked.find((r) => r.reason === 'stopping')!.partitions[0]!;
      const info = c.assigned[0]!.find((p) => p.partition === kept.partition)!;
      assert.equal(info.committedOffset, positions.get(kept.partition), 'the commit made while stopping holds');
      await c.consumer.stop();
    });

    test('commit is refused for partitions the member does not own', async (t) => {
      const { bus, topic } = await setup(t, 1);
      const rec = new Recorder();
      await rec.join(bus, uniqueName('group'), [topic]);
      await waitFor(() => rec.owned().length === 1, { message: 'ownership', timeoutMs: target.settleMs });
      await assert.rejects(
        rec.consumer.commit([{ topic, partition: 7, offset: '0' }]),
        (err: unknown) => err instanceof BusError && err.code === BusErrorCode.NotAssigned,
      );
      await rec.consumer.commit([{ topic, partition: 0, offset: '0' }]);
      await rec.consumer.stop();
    });

    test('two members share the partitions; when one leaves the other takes them over', async (t) => {
      const { bus, topic } = await setup(t, 4);
      const other = await target.open();
      t.after(() => other.close());
      const group = uniqueName('group');
      const a = new Recorder();
      const b = new Recorder();
      await a.join(bus, group, [topic]);
      await settle(() => a.owned().length === 4, 'a owns all 4', target.settleMs, a);
      await b.join(other, group, [topic]);
      await settle(
        () => a.owned().length > 0 && b.owned().length > 0 && a.owned().length + b.owned().length === 4,
        'a and b split the partitions',
        target.settleMs,
        a,
        b,
      );
      assert.deepEqual([...a.owned(), ...b.owned()].sort(), [0, 1, 2, 3].map((p) => keyOf({ topic, partition: p })).sort());
      assert.ok(a.revoked.some((r) => r.reason === 'revoked'), 'a was told which partitions left it');

      await bus.log.append(topic, makeRecords(80));
      await settle(() => a.records.length + b.records.length === 80, '80 records between them', target.settleMs, a, b);
      assert.ok(a.records.length > 0 && b.records.length > 0, 'both members consumed');
      assert.deepEqual(ids([...a.records, ...b.records]), ids(await bus.source.readToEnd(topic)));

      await b.consumer.stop();
      await settle(() => a.owned().length === 4, 'a owns all 4 again', target.settleMs, a, b);
      await a.consumer.stop();
    });

    test('a throwing onBatch stops the member with the error and revokes its partitions as lost', async (t) => {
      const { bus, topic } = await setup(t, 1);
      await bus.log.append(topic, makeRecords(5));
      const rec = new Recorder(undefined, () => {
        throw new Error('engine exploded');
      });
      await rec.join(bus, uniqueName('group'), [topic]);
      const error = await rec.consumer.closed;
      assert.ok(error instanceof BusError);
      assert.equal(error.code, BusErrorCode.HandlerFailed);
      assert.match(error.message, /engine exploded/);
      assert.deepEqual(rec.revoked.at(-1)?.reason, 'lost');
      assert.equal(rec.records.length, 0);
    });

    test('callbacks for one partition alternate assigned → batches → revoked', async (t) => {
      const { bus, topic } = await setup(t, 2);
      const other = await target.open();
      t.after(() => other.close());
      const group = uniqueName('group');
      const a = new Recorder();
      await a.join(bus, group, [topic]);
      await bus.log.append(topic, makeRecords(50));
      const b = new Recorder();
      await b.join(other, group, [topic]);
      await waitFor(() => a.owned().length === 1 && b.owned().length === 1, { message: 'split', timeoutMs: target.settleMs });
      await bus.log.append(topic, makeRecords(50, 'more'));
      await waitFor(() => a.records.length + b.records.length >= 100, { message: 'all records', timeoutMs: target.settleMs });
      await b.consumer.stop();
      await a.consumer.stop();
      for (const rec of [a, b]) {
        const state = new Map<string, boolean>();
        for (const event of rec.events) {
          const [kind, key] = event.split(' ') as [string, string];
          if (kind === 'assigned') {
            assert.notEqual(state.get(key), true, `${event}: assigned twice`);
            state.set(key, true);
          } else if (kind === 'revoked') {
            assert.equal(state.get(key), true, `${event}: revoked while not assigned`);
            state.set(key, false);
          } else {
            assert.equal(state.get(key), true, `${event}: batch while not assigned`);
          }
        }
      }
    });

    test('a tail sees every record, old and new, and says when it caught up', async (t) => {
      const { bus, topic } = await setup(t, 3);
      await bus.log.append(topic, makeRecords(30));
      const seenA: ConsumedRecord[] = [];
      const seenB: ConsumedRecord[] = [];
      let caughtUpAt = -1;
      const a = await bus.source.tail({
        topic,
        onBatch: async (batch) => void seenA.push(...batch.records),
        onCaughtUp: () => {
          caughtUpAt = seenA.length;
        },
      });
      const b = await bus.source.tail({ topic, from: 'latest', onBatch: async (batch) => void seenB.push(...batch.records) });
      await waitFor(() => caughtUpAt >= 0, { message: 'caught up', timeoutMs: target.settleMs });
      assert.equal(caughtUpAt, 30);
      await bus.log.append(topic, makeRecords(12, 'new'));
      await waitFor(() => seenA.length === 42 && seenB.length === 12, { message: 'tails see new records', timeoutMs: target.settleMs });
      assert.ok(seenB.every((r) => r.key.startsWith('new')));
      await a.stop();
      await b.stop();
      assert.equal(await a.closed, undefined);
    });

    test('a tail may start from given offsets', async (t) => {
      const { bus, topic } = await setup(t, 1);
      await bus.log.append(topic, makeRecords(10));
      const seen: ConsumedRecord[] = [];
      const tail = await bus.source.tail({ topic, from: new Map([[0, '7']]), onBatch: async (b) => void seen.push(...b.records) });
      await waitFor(() => seen.length === 3, { message: '3 records', timeoutMs: target.settleMs });
      assert.deepEqual(seen.map((r) => r.offset), ['7', '8', '9']);
      await tail.stop();
    });

    test('a compacted topic is accepted and reads back its latest value per key', async (t) => {
      const { bus, topic } = await setup(t, 1, { 'cleanup.policy': 'compact' });
      await bus.log.append(topic, [
        { key: 'p0', value: Buffer.from('v1'), headers: {} },
        { key: 'p1', value: Buffer.from('w1'), headers: {} },
        { key: 'p0', value: Buffer.from('v2'), headers: {} },
      ]);
      const latest = new Map<string, string>();
      await bus.source.scanToEnd(topic, (records) => {
        for (const r of records) latest.set(r.key, r.value.toString());
      });
      assert.deepEqual(Object.fromEntries(latest), { p0: 'v2', p1: 'w1' });
    });
  });
}
