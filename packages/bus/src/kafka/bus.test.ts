import { after, before } from 'node:test';
import { startKafka, type KafkaBroker } from '@iocbus/testing';
import { runContract } from '../contract.suite.js';
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
