export type * from './ports.js';
export { BusError, BusErrorCode } from './errors.js';
export { silentLogger, type BusLogger, type LogFn } from './logger.js';
export { murmur2, partitionForKey } from './murmur2.js';
export { createInProcessBus, type InProcessBus, type InProcessBusOptions } from './in-process/bus.js';
export { InProcessBroker, type InProcessBrokerOptions } from './in-process/broker.js';
export { createKafkaBus, type KafkaBus } from './kafka/bus.js';
export type { KafkaBusOptions, KafkaConsumerOptions } from './kafka/options.js';
