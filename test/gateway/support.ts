/** Shared by the gateway's real-broker tests: a gateway in this process, wired to Kafka through the bus. */
import type { TestContext } from 'node:test';
import { createKafkaBus, type EventLog, type KafkaBus } from '@iocbus/bus';
import { fromKafkaRecord, type DossierEvent } from '@iocbus/events';
import { buildTestGateway, testConfig, type TestKeys } from '../../services/gateway/src/test-support.js';
import type { Gateway } from '../../services/gateway/src/app.js';
import { kcatConsume, type KcatRecord } from '@iocbus/testing';

export interface KafkaGateway {
  gateway: Gateway;
  bus: KafkaBus;
  httpPort: number;
  grpcPort: number;
  url: string;
}

export async function startGatewayOnKafka(
  t: TestContext,
  brokers: string[],
  topic: string,
  keys: TestKeys,
  overrides: Parameters<typeof testConfig>[1] = {},
  options: {
    partitions?: number;
    createTopic?: boolean;
    topicConfig?: Record<string, string>;
    /** Wraps the bus's event log the gateway writes through (e.g. to watch its produce requests). */
    wrapLog?: (log: EventLog) => EventLog;
  } = {},
): Promise<KafkaGateway> {
  const bus = createKafkaBus({ brokers, clientId: 'gateway-test', retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 } });
  if (options.createTopic ?? true) {
    await bus.admin.ensureTopics([{ name: topic, partitions: options.partitions ?? 3, ...(options.topicConfig ? { config: options.topicConfig } : {}) }]);
  }
  const log = options.wrapLog?.(bus.log) ?? bus.log;
  const { gateway } = buildTestGateway(testConfig(topic, { ...overrides, kafka: { brokers, ...overrides.kafka } }), keys, log, async () => {
    await bus.admin.partitionCount(topic);
  });
  const { httpPort, grpcPort } = await gateway.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  t.after(async () => {
    await gateway.close();
    await bus.close();
  });
  return { gateway, bus, httpPort, grpcPort, url: `http://127.0.0.1:${httpPort}` };
}

/** What kcat (librdkafka, an independent client) reads from the topic, decoded by the events codec. */
export async function kcatEvents(brokers: string[], topic: string): Promise<{ records: KcatRecord[]; events: DossierEvent[] }> {
  const records = await kcatConsume({ brokers, topic });
  const events = records.map((r) =>
    fromKafkaRecord({
      key: r.key,
      value: r.value,
      headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString('utf8')])),
    }),
  );
  return { records, events };
}
