import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { BusError, BusErrorCode, closedError } from '../errors.js';
import type { TopicAdmin, TopicSpec } from '../ports.js';
import { Connection } from './connection.js';
import { mapKafkaError } from './errors.js';
import type { ResolvedOptions } from './options.js';

// Right after creation the broker may still answer metadata for the new topic with these.
const NOT_YET = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE']);

/**
 * Waits until every partition of the new topics has a leader. kafkajs's own wait (waitForLeaders)
 * retries only LEADER_NOT_AVAILABLE, but a busy KRaft broker can first answer
 * UNKNOWN_TOPIC_OR_PARTITION for a topic it has just created, which kafkajs then reports as final.
 */
async function waitForLeaders(admin: Admin, specs: readonly TopicSpec[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const names = specs.map((s) => s.name);
  for (let attempt = 0; ; attempt++) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      const ready = specs.every((spec) => {
        const meta = topics.find((t) => t.name === spec.name);
        return meta !== undefined && meta.partitions.length === spec.partitions && meta.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
    } catch (err) {
      if (!NOT_YET.has(String((err as { type?: string }).type)) || Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new BusError(BusErrorCode.Unavailable, `topics ${names.join(', ')} have no leader after ${timeoutMs} ms`);
    await sleep(Math.min(50 * 2 ** attempt, 1000));
  }
}

/** Explicit topic creation: partition counts and configs come from the caller's configuration. */
export function createKafkaTopicAdmin(kafka: Kafka, options: ResolvedOptions): TopicAdmin & { readonly client: Admin; ready(): Promise<void> } {
  const admin = kafka.admin();
  const connection = new Connection(
    () => admin.connect(),
    () => admin.disconnect(),
  );
  const ready = async (): Promise<void> => {
    if (connection.closed) throw closedError('Kafka topic admin');
    await connection.open();
  };

  return {
    client: admin,
    ready,
    async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
      for (const spec of specs) {
        if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
          throw new BusError(BusErrorCode.InvalidRequest, `topic ${spec.name}: partitions must be a positive integer`);
        }
      }
      try {
        await ready();
        const existing = new Set(await admin.listTopics());
        const missing = specs.filter((s) => !existing.has(s.name));
        if (missing.length === 0) return;
        // Resolves false (no error) when a concurrent caller created them first.
        await admin.createTopics({
          waitForLeaders: false,
          timeout: options.requestTimeoutMs,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: options.replicationFactor,
            configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
        await waitForLeaders(admin, missing, options.requestTimeoutMs);
      } catch (err) {
        throw mapKafkaError(err, `ensure topics ${specs.map((s) => s.name).join(', ')}`);
      }
    },
    async partitionCount(topic: string): Promise<number> {
      try {
        await ready();
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        return topics[0]!.partitions.length;
      } catch (err) {
        throw mapKafkaError(err, `partition count of ${topic}`);
      }
    },
    close: () => connection.close(),
  };
}
