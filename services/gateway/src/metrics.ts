import {
  BATCH_SIZE_BUCKETS,
  LATENCY_SECONDS_BUCKETS,
  ServiceMetrics,
  type Counter,
  type Gauge,
  type Histogram,
  type Registry,
} from '@iocbus/telemetry';

export type Transport = 'http' | 'grpc';
export type ResultLabel = 'accepted' | 'duplicate' | 'rejected' | 'failed';

/** The gateway's series; label values are closed sets so cardinality stays fixed. */
export interface GatewayMetrics {
  events: Counter<'transport' | 'result'>;
  requestDuration: Histogram<'transport' | 'route' | 'status'>;
  produceDuration: Histogram<'outcome'>;
  batchSize: Histogram;
  inFlight: Gauge;
  kafkaUp: Gauge;
}

export function createGatewayMetrics(registry: Registry, inFlight: () => number): GatewayMetrics {
  const m = new ServiceMetrics('gateway', registry);
  return {
    events: m.counter('events', {
      help: 'Events handled, by transport and result (accepted, duplicate, rejected, failed)',
      labelNames: ['transport', 'result'],
    }),
    requestDuration: m.histogram('request_duration', 'seconds', {
      help: 'Time from request arrival to answer, by transport, route (HTTP path or gRPC method) and status',
      labelNames: ['transport', 'route', 'status'],
      buckets: LATENCY_SECONDS_BUCKETS,
    }),
    produceDuration: m.histogram('kafka_produce_duration', 'seconds', {
      help: 'Time for one Kafka produce request to be acknowledged (acks=all), by outcome',
      labelNames: ['outcome'],
      buckets: LATENCY_SECONDS_BUCKETS,
    }),
    batchSize: m.histogram('kafka_batch_size', 'records', {
      help: 'Records per Kafka produce request',
      buckets: BATCH_SIZE_BUCKETS,
    }),
    inFlight: m.gauge('in_flight', 'events', {
      help: 'Events accepted for writing and not yet acknowledged by Kafka',
      // Read at scrape time: the batcher already counts, so the hot path pays nothing.
      collect() {
        this.set(inFlight());
      },
    }),
    kafkaUp: m.gauge('kafka_up', 'bool', { help: '1 while the last produce or probe reached Kafka, else 0' }),
  };
}
