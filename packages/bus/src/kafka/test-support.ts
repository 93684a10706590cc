import type { KafkaBusOptions } from './options.js';

/** Options for tests against the real broker: quick heartbeats, so rebalances settle in about a second. */
export function testBusOptions(brokers: string[], overrides: Partial<KafkaBusOptions> = {}): KafkaBusOptions {
  return {
    brokers,
    clientId: 'bus-test',
    replicationFactor: 1,
    clientLogLevel: 'warn',
    consumer: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 300, rebalanceTimeoutMs: 10_000, maxWaitTimeMs: 100 },
    ...overrides,
  };
}
