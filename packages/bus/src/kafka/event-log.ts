import type { Kafka, Message, Producer } from 'kafkajs';
import { closedError } from '../errors.js';
import type { BusLogger } from '../logger.js';
import { partitionForKey } from '../murmur2.js';
import type { AppendedRecord, BusRecord, EventLog } from '../ports.js';
import { SerialQueue } from '../util.js';
import { Connection } from './connection.js';
import { mapKafkaError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/**
 * A kafkajs message that carries where the partitioner put it (a field of its own, set in place: a
 * WeakMap entry per message cost more than encoding the record). A plain object, as the produce
 * request's fast path requires.
 */
interface PlacedMessage extends Message {
  placedIn: number;
}

/** Offsets from a partition's base offset: numbers while exact, BigInt beyond 2^53. */
function offsetsFrom(base: string, count: number): (i: number) => string {
  const first = Number(base);
  if (Number.isSafeInteger(first + count)) return (i) => String(first + i);
  const big = BigInt(base);
  return (i) => String(big + BigInt(i));
}

interface ProducerSlot {
  producer: Producer;
  connection: Connection;
}

/**
 * Appends through an idempotent producer: acks=all, one request in flight (so retries cannot
 * reorder a partition), topics never auto-created. The partitioner is the bus's own murmur2, the
 * same function the in-process adapter uses, and it notes on each message where it put it, so every
 * record's offset follows from its partition's base offset.
 *
 * Sends go one at a time, retries included, and a producer that failed a send is replaced. kafkajs
 * rolls back the sequence numbers of every partition in a produce request when any partition fails,
 * including partitions the broker had already written; a send slipping in before the retry then
 * reuses those numbers and the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER (seen here when concurrent
 * appends hit a topic whose partitions were still getting leaders). A new producer id starts clean.
 */
export function createKafkaEventLog(kafka: Kafka, options: ResolvedOptions, logger: BusLogger): EventLog {
  const sends = new SerialQueue();
  let slot: ProducerSlot | null = null;
  let closed = false;
  // Partition count each topic's last send was placed by (kafkajs's metadata at that send).
  const partitionCounts = new Map<string, number>();

  const newSlot = (): ProducerSlot => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: () => ({ topic, partitionMetadata, message }) => {
        const count = partitionMetadata.length;
        if (partitionCounts.get(topic) !== count) partitionCounts.set(topic, count);
        const partition = partitionForKey(String(message.key), count);
        (message as PlacedMessage).placedIn = partition;
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
      const now = String(Date.now());
      const messages: PlacedMessage[] = new Array(records.length);
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as BusRecord;
        messages[i] = {
          key: r.key,
          // An empty value goes out as a tombstone (Kafka null), so compaction can drop the key for good.
          value: r.value.length === 0 ? null : r.value,
          headers: r.headers,
          timestamp: r.timestamp == null ? now : String(r.timestamp),
          placedIn: -1,
        };
      }
      const metadata = await sends.run(() => send(topic, messages));
      // Per partition (indexed by its number): its records' offsets from the base offset Kafka reported.
      const offsetsOf: ((i: number) => string)[] = [];
      for (const m of metadata) offsetsOf[m.partition] = offsetsFrom(m.baseOffset ?? '0', records.length);
      const written: number[] = new Array(offsetsOf.length).fill(0);
      const appended: AppendedRecord[] = new Array(messages.length);
      for (let i = 0; i < messages.length; i++) {
        const partition = (messages[i] as PlacedMessage).placedIn;
        appended[i] = { topic, partition, offset: offsetsOf[partition]!(written[partition]!++) };
      }
      return appended;
    },
    knownPartitionCount(topic: string): number | undefined {
      return partitionCounts.get(topic);
    },
    async close() {
      closed = true;
      await sends.idle();
      if (slot !== null) await slot.connection.close();
    },
  };
}
