import type { Kafka } from 'kafkajs';
import { closedError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { Bus, ConsumedRecord, GroupConsumer, PartitionedSource, Tail } from '../ports.js';
import { createKafkaTopicAdmin } from './admin.js';
import { createKafkaClient } from './client.js';
import { mapKafkaError } from './errors.js';
import { createKafkaEventLog } from './event-log.js';
import { KafkaGroupConsumer } from './group-consumer.js';
import { resolveOptions, type KafkaBusOptions } from './options.js';
import { KafkaReader } from './reader.js';
import { scanToEnd } from './scan.js';
import { groupMessagesInstalled } from './group-messages.js';
import { installFastProduceRequest } from './produce-request.js';
import { KafkaTail } from './tail.js';

export interface KafkaBus extends Bus {
  /** The underlying kafkajs client, for tests and diagnostics only. */
  readonly kafka: Kafka;
}

/**
 * The bus over Apache Kafka through kafkajs. Clients connect on first use, so building the bus
 * opens no socket; each port's first call reports an unreachable broker as a retriable
 * IOC_BUS_UNAVAILABLE.
 */
export function createKafkaBus(options: KafkaBusOptions): KafkaBus {
  const settings = resolveOptions(options, silentLogger);
  const logger = settings.logger;
  if (!installFastProduceRequest()) logger.warn({}, 'kafkajs produce request already loaded; producing without the faster encoder');
  if (!groupMessagesInstalled) logger.warn({}, 'kafkajs loaded before the bus; producing with its quadratic message grouping');
  const kafka = createKafkaClient(settings);
  const log = createKafkaEventLog(kafka, settings, logger);
  const admin = createKafkaTopicAdmin(kafka, settings);
  // For metadata and offsets; every scan, tail and group member fetches through a reader of its own.
  const reader = new KafkaReader(kafka, settings);
  const fetchers = new Set<KafkaReader>();
  const ownReader = (): KafkaReader => {
    if (closed) throw closedError('Kafka source');
    const own = new KafkaReader(kafka, settings);
    fetchers.add(own);
    return own;
  };
  const release = async (own: KafkaReader): Promise<void> => {
    fetchers.delete(own);
    await own.close();
  };
  const scan: PartitionedSource['scanToEnd'] = async (topic, onRecords, scanOptions) => {
    const own = ownReader();
    try {
      return await scanToEnd(own, topic, onRecords, scanOptions);
    } finally {
      await release(own);
    }
  };
  const consumers = new Set<KafkaGroupConsumer>();
  const tails = new Set<KafkaTail>();
  let closed = false;
  const adminAccess = {
    client: admin.client,
    ready: async () => {
      try {
        await admin.ready();
      } catch (err) {
        throw mapKafkaError(err, 'connect admin');
      }
    },
  };

  const source: PartitionedSource = {
    async joinGroup(groupOptions): Promise<GroupConsumer> {
      if (closed) throw closedError('Kafka source');
      // Its own reader: it fetches its partitions through it (see KafkaReader).
      const own = ownReader();
      const consumer = new KafkaGroupConsumer(kafka, adminAccess, own, groupOptions, settings, logger);
      try {
        await consumer.start();
      } catch (err) {
        await release(own);
        throw err;
      }
      consumers.add(consumer);
      void consumer.closed.then(() => {
        consumers.delete(consumer);
        fetchers.delete(own);
      });
      return consumer;
    },
    scanToEnd: scan,
    async readToEnd(topic, scanOptions) {
      const all: ConsumedRecord[] = [];
      await scan(topic, (records) => void all.push(...records), scanOptions);
      return all;
    },
    async tail(tailOptions): Promise<Tail> {
      const own = ownReader();
      const tail = new KafkaTail(own, tailOptions, settings, logger);
      try {
        await tail.start();
      } catch (err) {
        await release(own);
        throw err;
      }
      tails.add(tail);
      void tail.closed.then(() => {
        tails.delete(tail);
        fetchers.delete(own);
      });
      return tail;
    },
    async endOffsets(topic) {
      const partitions = await reader.prepare(topic);
      return reader.withRetries(`offsets of ${topic}`, () => reader.bounds(topic, partitions));
    },
    async close() {
      closed = true;
      await Promise.all([...consumers].map((c) => c.stop()));
      await Promise.all([...tails].map((t) => t.stop()));
      await Promise.all([...fetchers].map((f) => release(f)));
      await reader.close();
    },
  };

  return {
    kafka,
    log,
    admin,
    source,
    async close() {
      await source.close();
      await Promise.all([log.close(), admin.close()]);
    },
  };
}
