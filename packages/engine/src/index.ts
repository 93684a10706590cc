export {
  createPartitionEngine,
  type EngineStats,
  type EvictedPartial,
  type PartialChanges,
  type PartitionEngine,
  type PartitionEngineOptions,
  type RetentionOptions,
} from './engine.js';
export { evaluate, type EvaluateOptions, type IndicatorValue, type ValueWindowRef } from './evaluate.js';
export { INDICATORS, VALUE_WINDOWS, indicatorById, type IndicatorDef, type Qd766, type Term, type ValueWindow } from './indicators.js';
export { MEASURES, MEASURE_COUNT, measureIndex, type MeasureName } from './measures.js';
export {
  PARTIAL_FORMAT_VERSION,
  clonePartial,
  decodePartial,
  encodePartial,
  makePartial,
  mergePartials,
  mergeTwo,
  partialKey,
  windowRef,
  type IndicatorPartial,
  type WindowRef,
} from './partials.js';
export { SCOPE_KINDS, type ScopeKind, type ScopeRef } from './scopes.js';
export { RELATIVE_ACCURACY, Sketch } from './sketch.js';
export { SNAPSHOT_FORMAT_VERSION } from './snapshot.js';
export { VN_OFFSET_SEC, WINDOW_KINDS, type WindowKind } from './time.js';
export { EngineConfigError, EngineDecodeError } from './errors.js';
export {
  PROGRESS_FORMAT_VERSION,
  PROGRESS_KEY_SUFFIX,
  PROGRESS_MAX_SOURCES,
  boundSources,
  decodePartialRecord,
  decodeProgress,
  encodePartialRecordValue,
  encodeProgress,
  parsePartialRecordKey,
  partialRecordKey,
  progressRecordKey,
  type PartialRecord,
  type PartialRecordKey,
  type PartitionProgress,
  type SourceProgress,
} from './partial-record.js';
