import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Registry } from 'prom-client';
export type { Counter, Gauge, Histogram } from 'prom-client';

const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** `iocbus_<service>_<thing>_<unit>`; every part lower snake case so names survive PromQL unquoted. */
export function metricName(service: string, thing: string, unit: string): string {
  for (const [part, value] of [['service', service], ['thing', thing], ['unit', unit]] as const) {
    if (!SNAKE.test(value)) throw new TypeError(`metric ${part} "${value}" is not lower snake case`);
  }
  return `iocbus_${service}_${thing}_${unit}`;
}

export interface ServiceRegistryOptions {
  /** Collect the process/Node.js metrics (CPU, memory, event loop lag, GC) on this registry. Default true. */
  defaultMetrics?: boolean;
  /** Labels put on every series of this registry (keep them low cardinality, e.g. { instance }). */
  defaultLabels?: Record<string, string>;
}

/**
 * A registry of its own for one service. The prom-client global registry is never used: in the all-in-one
 * process several services live side by side and each exposes only its own series.
 */
export function createRegistry(options: ServiceRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

interface MetricOptions<L extends string> {
  help: string;
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  buckets?: readonly number[];
}

export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /** Called at scrape time to set the value, so hot paths need not update the gauge themselves. */
  collect?: (this: Gauge<L>) => void | Promise<void>;
}

/** Creates the metrics of one service on one injected registry, enforcing the naming rule. */
export class ServiceMetrics {
  constructor(
    readonly service: string,
    readonly registry: Registry,
  ) {
    metricName(service, 'x', 'x');
  }

  /** `iocbus_<service>_<thing>_total` */
  counter<L extends string = string>(thing: string, options: MetricOptions<L>): Counter<L> {
    return new Counter<L>({
      name: metricName(this.service, thing, 'total'),
      help: options.help,
      labelNames: options.labelNames ?? [],
      registers: [this.registry],
    });
  }

  /** `iocbus_<service>_<thing>_<unit>`, e.g. ('request_duration', 'seconds'). */
  histogram<L extends string = string>(thing: string, unit: string, options: HistogramOptions<L>): Histogram<L> {
    return new Histogram<L>({
      name: metricName(this.service, thing, unit),
      help: options.help,
      labelNames: options.labelNames ?? [],
      ...(options.buckets === undefined ? {} : { buckets: [...options.buckets] }),
      registers: [this.registry],
    });
  }

  /** `iocbus_<service>_<thing>_<unit>`, e.g. ('in_flight', 'events'). */
  gauge<L extends string = string>(thing: string, unit: string, options: GaugeOptions<L>): Gauge<L> {
    return new Gauge<L>({
      name: metricName(this.service, thing, unit),
      help: options.help,
      labelNames: options.labelNames ?? [],
      ...(options.collect === undefined ? {} : { collect: options.collect }),
      registers: [this.registry],
    });
  }
}

/** Bucket boundaries for request latencies from 0.5 ms to 10 s. */
export const LATENCY_SECONDS_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Bucket boundaries for batch sizes (records per Kafka produce request). */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

/** The Prometheus text exposition of a registry; each service serves it on `/metrics` through its own server. */
export async function renderMetrics(registry: Registry): Promise<RenderedMetrics> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
