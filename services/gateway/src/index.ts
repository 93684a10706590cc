export { createGateway, type Gateway, type GatewayDeps, type GrpcTls, type ListenOptions } from './app.js';
export {
  ConfigError,
  configInputFromEnv,
  gatewayConfigSchema,
  loadConfig,
  resolveConfig,
  type GatewayConfig,
  type GatewayConfigInput,
  type LoadedConfig,
} from './config.js';
export { ApiKeyStore, bearerToken, generateApiKey, type ApiKeyEntry, type Principal } from './api-keys.js';
export { GATEWAY_ERRORS, GatewayError, type GatewayErrorCode, type Problem } from './errors.js';
export { INGEST_PROTO_FILE, INGEST_SERVICE, loadIngestPackage } from './grpc.js';
export type { EventResult, EventStatus } from './ingest.js';
export type { KafkaProbe } from './kafka-health.js';
export { systemClock, type Clock } from './clock.js';
