import { runContract } from '../contract.suite.js';
import { createKafkaBus } from './bus.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);

runContract({
  name: 'kafka',
  open: () =>
    createKafkaBus({
      brokers,
      clientId: 'bus-contract',
      replicationFactor: 1,
      clientLogLevel: 'warn',
      consumer: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 10_000, maxWaitTimeMs: 100 },
    }),
  settleMs: 30_000,
});
