import type { Logger, Registry } from '@iocbus/telemetry';
import type { ApiKeyStore, Principal } from './api-keys.js';
import type { GatewayConfig } from './config.js';
import { GatewayError } from './errors.js';
import type { Ingestor } from './ingest.js';
import type { KafkaHealth } from './kafka-health.js';
import type { GatewayMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limiter.js';

/** What both transports share; built once in app.ts. */
export interface GatewayCore {
  config: GatewayConfig;
  keys: ApiKeyStore;
  limiter: RateLimiter;
  ingestor: Ingestor;
  health: KafkaHealth;
  metrics: GatewayMetrics;
  registry: Registry;
  logger: Logger;
  /** Set when shutdown began: readiness turns false and new work is refused. */
  readonly closing: boolean;
}

export async function authenticate(core: GatewayCore, token: string | undefined): Promise<Principal> {
  if (token === undefined) {
    throw new GatewayError('IOC_GATEWAY_UNAUTHENTICATED', 'missing API key: send "Authorization: Bearer <api key>"');
  }
  const principal = await core.keys.authenticate(token);
  if (principal === undefined) throw new GatewayError('IOC_GATEWAY_UNAUTHENTICATED', 'invalid API key');
  return principal;
}

function rateLimited(retryAfterMs: number): GatewayError {
  return new GatewayError('IOC_GATEWAY_RATE_LIMITED', `over the rate limit of this API key; retry in ${retryAfterMs} ms`, {
    retryAfterMs,
  });
}

/** Charges `events` to the key's token bucket, or throws 429 / RESOURCE_EXHAUSTED. */
export function admit(core: GatewayCore, principal: Principal, events: number): void {
  const decision = core.limiter.take(principal.keyId, principal.rate ?? core.config.limits.rate, events);
  if (!decision.ok) throw rateLimited(decision.retryAfterMs);
}

/** Refuses before the body is read when the bucket is already empty. */
export function admitAny(core: GatewayCore, principal: Principal): void {
  const decision = core.limiter.peek(principal.keyId, principal.rate ?? core.config.limits.rate);
  if (!decision.ok) throw rateLimited(decision.retryAfterMs);
}

export function refuseWhenClosing(core: GatewayCore): void {
  if (core.closing) {
    throw new GatewayError('IOC_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down; retry on another instance', {
      retryAfterMs: 1000,
    });
  }
}
