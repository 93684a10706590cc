export { createAggregator, AggregatorError, type Aggregator, type AggregatorDeps, type AggregatorHooks, type AggregatorStatus, type FaultInfo } from './aggregator.js';
export {
  FAULT_POINTS,
  ConfigError,
  aggregatorConfigSchema,
  configInputFromEnv,
  loadConfig,
  parseConfig,
  type AggregatorConfig,
  type AggregatorConfigInput,
  type FaultPoint,
} from './config.js';
export { CHECKPOINT_FORMAT_VERSION, CheckpointDecodeError, CheckpointStore, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint.js';
export { DLQ_HEADER, deadLetterRecord } from './dead-letter.js';
export { buildHttpApp } from './http.js';
export { topicSpecs } from './topics.js';
