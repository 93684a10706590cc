import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { startKafka, uniqueName, waitFor, type KafkaBroker } from '@iocbus/testing';
import { makeRecords, runContract } from '../contract.suite.js';
import { createKafkaBus } from './bus.js';
import { testBusOptions } from './test-support.js';

let broker: KafkaBroker;
before(async () => {
  broker = await startKafka();
});
after(() => broker?.stop());

runContract({
  name: 'kafka',
  open: () => createKafkaBus(testBusOptions(broker.brokers)),
  settleMs: 30_000,
});

test('closing the bus leaves no connection open, even after concurrent tails and scans', async () => {
  const brokerSockets = () =>
    new Set(
      // Undocumented but long-stable: the handles keeping the event loop alive.
      (process as unknown as { _getActiveHandles(): unknown[] })
        ._getActiveHandles()
        .filter((h): h is Socket => h instanceof Socket && !h.destroyed && broker.brokers.includes(`${h.remoteAddress}:${h.remotePort}`)),
    );
  const before = brokerSockets();
  const bus = createKafkaBus(testBusOptions(broker.brokers));
  const topic = uniqueName('bus-close');
  await bus.admin.ensureTopics([{ name: topic, partitions: 3 }]);
  await bus.log.append(topic, makeRecords(30));
  const seen = [0, 0, 0];
  const tails = await Promise.all(
    seen.map((_, i) => bus.source.tail({ topic, onBatch: async (b) => void (seen[i]! += b.records.length) })),
  );
  const scans = await Promise.all([bus.source.readToEnd(topic), bus.source.readToEnd(topic)]);
  await waitFor(() => seen.every((n) => n === 30), { message: 'every tail read all 30', timeoutMs: 30_000 });
  assert.deepEqual(scans.map((s) => s.length), [30, 30]);
  await Promise.all(tails.map((t) => t.stop()));
  await bus.close();
  await waitFor(() => [...brokerSockets()].every((s) => before.has(s)), { message: 'no socket left open', timeoutMs: 10_000 });
});
