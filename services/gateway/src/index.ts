export { createGateway, type Gateway, type GatewayDeps, type GrpcTls, type ListenOptions } from './app.js';
export { ApiKeyStore, generateApiKey, type ApiKeyEntry } from './api-keys.js';
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
export { GATEWAY_ERRORS, GatewayError, type GatewayErrorCode } from './errors.js';
export { INGEST_PROTO_FILE, INGEST_SERVICE } from './grpc.js';
export type { KafkaProbe } from './kafka-health.js';
