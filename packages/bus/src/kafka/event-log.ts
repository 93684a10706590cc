import type { Kafka, Message, Producer } from 'kafkajs';
import { closedError } from '../errors.js';
import type { BusLogger } from '../logger.js';
import { partitionForKey } from '../murmur2.js';
import type { AppendedRecord, BusRecord, EventLog } from '../ports.js';
import { SerialQueue } from '../util.js';
import { Connection } from './connection.js';
import { mapKafkaError } from './errors.js';
import type { ResolvedOptions } from './options.js';

interface ProducerSlot {
  producer: Producer;
  connection: Connection;
}

/**
 * Appends through an idempotent producer: acks=all, one request in flight (so retries cannot
 * reorder a partition), topics never auto-created. The partitioner is the bus's own murmur2, the
 * same function the in-process adapter uses, and it remembers where it put each message so every
 * record's offset follows from its partition's base offset.
 *
 * Sends go one at a time, retries included, and a producer that failed a send is replaced. kafkajs
 * rolls back the sequence numbers of every partition in a produce request when any partition fails,
 * including partitions the broker had already written; a send slipping in before the retry then
 * reuses those numbers and the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER (seen here when concurrent
 * appends hit a topic whose partitions were still getting leaders). A new producer id starts clean.
 */
export function createKafkaEventLog(kafka: Kafka, options: ResolvedOptions, logger: BusLogger): EventLog {
  const placed = new WeakMap<Message, number>();
  const sends = new SerialQueue();
  let slot: ProducerSlot | null = null;
  let closed = false;

  const newSlot = (): ProducerSlot => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: () => ({ partitionMetadata, message }) => {
        const partition = partitionForKey(String(message.key), partitionMetadata.length);
        placed.set(message, partition);
        return partition;
      },
    });
    return { producer, connection: new Connection(() => producer.connect(), () => producer.disconnect()) };
  };

  const retire = (failed: ProducerSlot): void => {
    if (slot === failed) slot = null;
    failed.connection.close().catch((err: unknown) => logger.debug({ err }, 'closing a failed producer failed'));
  };

  const send = async (topic: string, messages: Message[]) => {
    if (closed) throw closedError('Kafka event log');
    const current = (slot ??= newSlot());
    try {
      await current.connection.open();
      return await current.producer.send({ topic, messages, acks: -1, timeout: options.produceTimeoutMs });
    } catch (err) {
      retire(current);
      throw mapKafkaError(err, `append to ${topic}`);
    }
  };

  return {
    async append(topic: string, records: readonly BusRecord[]): Promise<AppendedRecord[]> {
      if (records.length === 0) return [];
      if (closed) throw closedError('Kafka event log');
      const now = Date.now();
      const messages: Message[] = records.map((r) => ({
        key: r.key,
        // An empty value goes out as a tombstone (Kafka null), so compaction can drop the key for good.
        value: r.value.length === 0 ? null : r.value,
        headers: r.headers,
        timestamp: String(r.timestamp ?? now),
      }));
      const metadata = await sends.run(() => send(topic, messages));
      const next = new Map<number, bigint>(metadata.map((m) => [m.partition, BigInt(m.baseOffset ?? '0')]));
      return messages.map((m) => {
        const partition = placed.get(m)!;
        const offset = next.get(partition)!;
        next.set(partition, offset + 1n);
        return { topic, partition, offset: String(offset) };
      });
    },
    async close() {
      closed = true;
      await sends.idle();
      if (slot !== null) await slot.connection.close();
    },
  };
}
