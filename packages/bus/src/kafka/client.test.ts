import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { logLevel } from 'kafkajs';
import { startKafka, uniqueName, waitFor, type KafkaBroker } from '@iocbus/testing';
import type { BusLogger } from '../logger.js';
import { bridgeLogger } from './client.js';
import { createKafkaBus } from './bus.js';
import { testBusOptions } from './test-support.js';

type Line = { level: string; obj: Record<string, unknown>; msg: string };

function capture(): { logger: BusLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

let broker: KafkaBroker;
before(async () => {
  broker = await startKafka();
});
after(() => broker?.stop());

test("kafkajs's log entries become (object, message) calls at the same level", () => {
  const { logger, lines } = capture();
  const log = bridgeLogger(logger)(logLevel.INFO);
  log({
    namespace: 'Consumer',
    level: logLevel.WARN,
    label: 'WARN',
    log: { timestamp: '2026-01-01T00:00:00.000Z', logger: 'kafkajs', message: 'Restarting the consumer', groupId: 'g', retryCount: 2 },
  });
  log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Connection error', broker: 'b:9092' } });
  log({ namespace: 'Runner', level: logLevel.DEBUG, label: 'DEBUG', log: { timestamp: 't', message: 'fetch' } });
  assert.deepEqual(lines, [
    { level: 'warn', obj: { groupId: 'g', retryCount: 2, kafkajs: 'Consumer' }, msg: 'Restarting the consumer' },
    { level: 'error', obj: { broker: 'b:9092', kafkajs: 'Connection' }, msg: 'Connection error' },
    { level: 'debug', obj: { kafkajs: 'Runner' }, msg: 'fetch' },
  ]);
});

test('a live bus logs through the injected logger only, kafkajs included', async (t) => {
  const { logger, lines } = capture();
  // kafkajs's default logger writes to the console: nothing may reach it.
  const consoleCalls: unknown[] = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    t.mock.method(console, method, (...args: unknown[]) => void consoleCalls.push(args));
  }
  const bus = createKafkaBus(testBusOptions(broker.brokers, { logger, clientLogLevel: 'info' }));
  const topic = uniqueName('bus-log');
  await bus.admin.ensureTopics([{ name: topic, partitions: 1 }]);
  const consumer = await bus.source.joinGroup({
    groupId: uniqueName('bus-log'),
    topics: [topic],
    onAssigned: async () => {},
    onRevoked: async () => {},
    onBatch: async () => {},
  });
  await waitFor(() => consumer.assignment().length === 1, { message: 'assigned', timeoutMs: 30_000 });
  await bus.close();
  assert.ok(lines.some((l) => l.obj.kafkajs === 'ConsumerGroup' && l.msg === 'Consumer has joined the group'), 'kafkajs info reached the logger');
  assert.ok(lines.some((l) => l.msg === 'group joined' && l.obj.groupId !== undefined), "the bus's own line");
  assert.deepEqual(consoleCalls, []);
});
