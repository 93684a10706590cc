import type { Admin, Kafka } from 'kafkajs';
import { BusError, BusErrorCode, closedError } from '../errors.js';
import type { TopicAdmin, TopicSpec } from '../ports.js';
import { Connection } from './connection.js';
import { mapKafkaError } from './errors.js';
import type { ResolvedOptions } from './options.js';

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
          waitForLeaders: true,
          timeout: options.requestTimeoutMs,
          topics: missing.map((s) => ({
            topic: s.name,
            numPartitions: s.partitions,
            replicationFactor: options.replicationFactor,
            configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
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
