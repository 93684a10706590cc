/**
 * The bus's own fetch path across a broker restart: a group member and a tail follow a topic on a dedicated
 * broker (not the shared one: it gets killed), the broker is SIGKILLed and started again, and both carry on by
 * themselves — every record, old and new, delivered, nothing twice — with their failures retried, not fatal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafkaBus, type ConsumedRecord, type KafkaBus } from '@iocbus/bus';
import { startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { restartable } from '../gateway/broker-process.js';

function records(n: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}-${i % 17}`, value: Buffer.from(`${prefix} ${i}`), headers: { id: `${prefix}-${i}` } }));
}

test('a group member and a tail keep fetching across a broker killed and started again', { timeout: 240_000 }, async (t) => {
  const broker = await startKafka({ sources: ['jars'] });
  const control = await restartable(broker);
  let bus: KafkaBus | undefined;
  t.after(async () => {
    await bus?.close();
    // The restarted JVM is an unref'd child: keep the loop alive while waiting for it to exit.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await control.cleanup();
      await broker.stop();
    } finally {
      clearInterval(keepAlive);
    }
  });
  bus = createKafkaBus({
    brokers: broker.brokers,
    clientId: 'bus-restart',
    replicationFactor: 1,
    clientLogLevel: 'nothing',
    retry: { retries: 8, initialRetryTimeMs: 200, maxRetryTimeMs: 2000 },
    consumer: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 20_000, maxWaitTimeMs: 100 },
  });
  const topic = uniqueName('bus-restart');
  await bus.admin.ensureTopics([{ name: topic, partitions: 3 }]);
  await bus.log.append(topic, records(300, 'before'));

  const grouped: ConsumedRecord[] = [];
  // The member's own checkpoint (it commits nothing): a lost membership resumes where it got to.
  const next = new Map<number, string>();
  const member = await bus.source.joinGroup({
    groupId: uniqueName('bus-restart-group'),
    topics: [topic],
    onAssigned: async (partitions) => partitions.map((p) => ({ ...p, start: next.has(p.partition) ? { offset: next.get(p.partition)! } : ('earliest' as const) })),
    onRevoked: async () => undefined,
    onBatch: async (batch) => {
      if (batch.isStale()) return;
      grouped.push(...batch.records);
      next.set(batch.partition, String(BigInt(batch.records[batch.records.length - 1]!.offset) + 1n));
    },
  });
  const tailed: ConsumedRecord[] = [];
  const tail = await bus.source.tail({ topic, onBatch: async (batch) => void tailed.push(...batch.records) });
  await waitFor(() => grouped.length >= 300 && tailed.length >= 300, { timeoutMs: 60_000, message: 'both read the first 300' });

  await control.kill();
  await new Promise((r) => setTimeout(r, 1500));
  await control.start();
  // Appending retries until the broker is back (its own retriable failures).
  await waitFor(
    async () => {
      try {
        await bus.log.append(topic, records(200, 'after'));
        return true;
      } catch (err) {
        assert.equal((err as { retriable?: boolean }).retriable, true, 'only retriable failures while the broker is away');
        return false;
      }
    },
    { timeoutMs: 120_000, intervalMs: 500, message: 'an append after the restart' },
  );
  await waitFor(() => grouped.length >= 500 && tailed.length >= 500, { timeoutMs: 120_000, message: 'both read the records appended after the restart' });

  for (const [who, seen] of [['member', grouped], ['tail', tailed]] as const) {
    const ids = seen.map((r) => r.headers.id);
    assert.equal(new Set(ids).size, 500, `${who}: every record once`);
  }
  await tail.stop();
  assert.equal(await tail.closed, undefined, 'the tail ended without an error');
  await member.stop();
  assert.equal(await member.closed, undefined, 'the member ended without an error');
});
