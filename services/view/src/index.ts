export { createView, systemClock, type Clock, type ListenOptions, type PublishInfo, type View, type ViewDeps } from './view.js';
export { measureFanout, type FanoutOptions, type FanoutResult } from './fanout.js';
export { ConfigError, configInputFromEnv, loadConfig, resolveConfig, viewConfigSchema, type ViewConfig, type ViewConfigInput } from './config.js';
export { ViewError, VIEW_ERRORS, type ViewErrorCode } from './errors.js';
export { compileFilter, filterFromQuery, type CompiledFilter, type IndicatorFilter, type ScopeSelector } from './filter.js';
export { toJsonValue, type JsonValue, type MessageBody, type ResetCause } from './messages.js';
export type { RemovedKey, ViewScope, ViewValue, ViewWindow } from './model.js';
export { INDICATOR_SERVICE, INDICATORS_PROTO_FILE, loadIndicatorsPackage } from './proto.js';
export { decodeToken, type ResumeToken } from './token.js';
