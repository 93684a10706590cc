export { createLogger, levelFunctions, REDACTED_PATHS, type Logger, type LoggerFactoryOptions, type StructuredLogFn } from './logger.js';
export {
  BATCH_SIZE_BUCKETS,
  createRegistry,
  LATENCY_SECONDS_BUCKETS,
  metricName,
  Registry,
  renderMetrics,
  ServiceMetrics,
  type Counter,
  type Gauge,
  type GaugeOptions,
  type Histogram,
  type HistogramOptions,
  type RenderedMetrics,
  type ServiceRegistryOptions,
} from './metrics.js';
export { promtoolFindings } from './promtool.js';
