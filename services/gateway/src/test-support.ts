/**
 * Helpers for the gateway's tests: sample events, keys, and a gateway wired to a given EventLog.
 * Shared by the in-process tests here and the Kafka tests under test/gateway/.
 */
import { createLogger, createRegistry, type Logger, type Registry } from '@iocbus/telemetry';
import type { EventLog } from '@iocbus/bus';
import { generateApiKey, type ApiKeyEntry } from './api-keys.js';
import { createGateway, type Gateway, type GatewayDeps } from './app.js';
import { gatewayConfigSchema, type GatewayConfig, type GatewayConfigInput } from './config.js';
import type { KafkaProbe } from './kafka-health.js';

export const SOURCE = '/agencies/H21.17/igate';
export const UNIT = 'H21.17';

let counter = 0;

/** A valid `received` event in JSON structured form; every call gets a fresh id and dossier code. */
export function sampleEvent(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  const dossierCode = `H21.17-250701-${String(counter).padStart(6, '0')}`;
  return {
    specversion: '1.0',
    id: `evt-${process.pid}-${Date.now()}-${counter}`,
    source: SOURCE,
    type: 'vn.gov.tthc.dossier.received',
    time: '2025-07-01T08:00:00+07:00',
    subject: dossierCode,
    datacontenttype: 'application/json',
    data: {
      dossierCode,
      procedureCode: '1.001234',
      unitCode: UNIT,
      occurredAt: '2025-07-01T08:00:00+07:00',
      receivedAt: '2025-07-01T08:00:00+07:00',
      dueAt: '2025-07-05T17:00:00+07:00',
      channel: 'online',
      applicantType: 'citizen',
      ...data,
    },
    ...overrides,
  };
}

export interface TestKeys {
  entries: ApiKeyEntry[];
  /** May publish for SOURCE / UNIT only. */
  agency: string;
  /** May publish for another agency only. */
  other: string;
  /** Tiny rate limit: 3 events, 1 per second. */
  slow: string;
  /** Anything, at a high rate (benchmarks, load tests). */
  admin: string;
}

export async function testKeys(): Promise<TestKeys> {
  const agency = await generateApiKey('agency');
  const other = await generateApiKey('other');
  const slow = await generateApiKey('slow');
  const admin = await generateApiKey('admin');
  return {
    entries: [
      { id: 'agency', hash: agency.hash, sources: [SOURCE], units: [UNIT] },
      { id: 'other', hash: other.hash, sources: ['/agencies/H21.18/*'], units: ['H21.18'] },
      { id: 'slow', hash: slow.hash, sources: [SOURCE], units: [UNIT], rate: { eventsPerSecond: 1, burst: 3 } },
      { id: 'admin', hash: admin.hash, sources: ['*'], units: ['*'], rate: { eventsPerSecond: 10_000_000, burst: 10_000_000 } },
    ],
    agency: agency.key,
    other: other.key,
    slow: slow.key,
    admin: admin.key,
  };
}

/** Config for tests: short timings, the given topic and brokers; the key file is not read (keys are injected). */
export function testConfig(topic: string, overrides: Omit<GatewayConfigInput, 'kafka' | 'auth'> & { kafka?: Partial<GatewayConfigInput['kafka']> } = {}): GatewayConfig {
  const { kafka, ...rest } = overrides;
  return gatewayConfigSchema.parse({
    ...rest,
    kafka: { brokers: ['127.0.0.1:9'], topic, produceTimeoutMs: 3000, probeIntervalMs: 200, ...kafka },
    auth: { keysFile: '(injected)' },
    log: { level: 'silent' },
  });
}

export interface TestGateway {
  gateway: Gateway;
  registry: Registry;
  logger: Logger;
}

export function buildTestGateway(
  config: GatewayConfig,
  keys: TestKeys,
  eventLog: EventLog,
  probe: KafkaProbe,
  extra: Partial<GatewayDeps> = {},
): TestGateway {
  const registry = createRegistry({ defaultMetrics: false });
  const logger = createLogger({ service: 'gateway', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const gateway = createGateway({ config, apiKeys: keys.entries, eventLog, probe, logger, registry, ...extra });
  return { gateway, registry, logger };
}
