import type { Kafka, Message, Producer } from 'kafkajs';
import { closedError } from '../errors.js';
import { partitionForKey } from '../murmur2.js';
import type { AppendedRecord, BusRecord, EventLog } from '../ports.js';
import { mapKafkaError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { Connection } from './connection.js';

/**
 * Appends through one idempotent producer: acks=all, one request in flight (so retries cannot
 * reorder a partition), topics never auto-created. The partitioner is the bus's own murmur2,
 * the same function the in-process adapter uses, and it remembers where it put each message so
 * every record's offset can be derived from its partition's base offset.
 */
export function createKafkaEventLog(kafka: Kafka, options: ResolvedOptions): EventLog {
  const placed = new WeakMap<Message, number>();
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: () => ({ partitionMetadata, message }) => {
      const partition = partitionForKey(String(message.key), partitionMetadata.length);
      placed.set(message, partition);
      return partition;
    },
  });
  const connection = new Connection(
    () => producer.connect(),
    () => producer.disconnect(),
  );

  return {
    async append(topic: string, records: readonly BusRecord[]): Promise<AppendedRecord[]> {
      if (records.length === 0) return [];
      if (connection.closed) throw closedError('Kafka event log');
      const now = Date.now();
      const messages: Message[] = records.map((r) => ({
        key: r.key,
        // An empty value goes out as a tombstone (Kafka null), so compaction can drop the key for good.
        value: r.value.length === 0 ? null : r.value,
        headers: r.headers,
        timestamp: String(r.timestamp ?? now),
      }));
      let metadata;
      try {
        await connection.open();
        metadata = await producer.send({ topic, messages, acks: -1, timeout: options.produceTimeoutMs });
      } catch (err) {
        throw mapKafkaError(err, `append to ${topic}`);
      }
      const next = new Map<number, bigint>(metadata.map((m) => [m.partition, BigInt(m.baseOffset ?? '0')]));
      return messages.map((m) => {
        const partition = placed.get(m)!;
        const offset = next.get(partition)!;
        next.set(partition, offset + 1n);
        return { topic, partition, offset: String(offset) };
      });
    },
    close: () => connection.close(),
  };
}
