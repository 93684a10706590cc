import { readFileSync } from 'node:fs';
import { configInputFromEnv as envInput } from '@iocbus/config';
import { z } from 'zod';
import { isValidKeyId, parseKeyHash, type ApiKeyEntry } from './api-keys.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const port = int(0, 65535);

const rateSchema = z.object({
  eventsPerSecond: z.coerce.number().positive(),
  burst: int(1),
});

const apiKeySchema = z.object({
  id: z.string().refine(isValidKeyId, { error: 'key id must be 1–64 of A–Z a–z 0–9 _ -' }),
  hash: z.string().check((ctx) => {
    const parsed = parseKeyHash(ctx.value);
    if (typeof parsed === 'string') ctx.issues.push({ code: 'custom', input: ctx.value, message: parsed });
  }),
  sources: z.array(z.string().min(1)).min(1),
  units: z.array(z.string().min(1)).min(1),
  rate: rateSchema.optional(),
});

export const apiKeysFileSchema = z.object({ keys: z.array(apiKeySchema) });

/** Checked on the raw file so a duplicate is reported alongside other problems in the same entries. */
function duplicateKeyIds(raw: unknown): string[] {
  const keys = (raw as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return [];
  const seen = new Set<unknown>();
  const problems: string[] = [];
  keys.forEach((key: unknown, i) => {
    const id = (key as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && seen.has(id)) problems.push(`keys.${i}.id: duplicate key id "${id}"`);
    seen.add(id);
  });
  return problems;
}

/** The gateway's whole configuration; defaults are the production values, tests shorten the timings. */
export const gatewayConfigSchema = z.object({
  http: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: port.default(8080),
      /** Largest request body accepted (413 beyond). */
      bodyLimitBytes: int(1024).default(1024 * 1024),
    })
    .prefault({}),
  grpc: z
    .object({
      host: z.string().default('0.0.0.0'),
      port: port.default(50051),
      maxMessageBytes: int(1024).default(4 * 1024 * 1024),
      /** Events one PublishStream may have waiting for Kafka before the gateway stops reading it. */
      streamMaxInFlight: int(1).default(1000),
      tls: z
        .object({
          certFile: z.string().min(1),
          keyFile: z.string().min(1),
          /** CA that signs client certificates; with it set, clients must present one (mTLS). */
          clientCaFile: z.string().min(1).optional(),
        })
        .optional(),
    })
    .prefault({}),
  kafka: z
    .object({
      brokers: z
        .array(z.string().regex(/^[^:\s]+:\d+$/, { error: 'expected host:port' }), {
          error: 'required: set KAFKA_BROKERS (host:port,…) or kafka.brokers',
        })
        .min(1),
      clientId: z.string().default('iocbus-gateway'),
      topic: z.string().min(1).default('iocbus.dossier-events.v1'),
      /** Partitions to create the topic with when it does not exist. */
      partitions: int(1).default(12),
      /** Answer 503 when Kafka has not acknowledged within this time. */
      produceTimeoutMs: int(1).default(5000),
      /** Interval and timeout of the readiness probe (a metadata request). */
      probeIntervalMs: int(10).default(2000),
    })
    // Absent section: report the missing brokers inside it rather than "kafka: required".
    .prefault({} as { brokers: string[] }),
  batch: z
    .object({
      lingerMs: int(0, 1000).default(2),
      /** Records per produce request. */
      maxRecords: int(1).default(5000),
      /**
       * Bytes per partition in one produce request (keys, values, headers, plus 16 per record and 4 per header,
       * which covers Kafka's record overhead). Kafka applies the topic's max.message.bytes (1 MiB by default) to
       * each partition's record batch, so keep this below it; an over-size batch fails its whole request.
       */
      maxBytes: int(1024).default(900_000),
      /** Bytes per produce request, over all partitions (counted as maxBytes is). */
      maxRequestBytes: int(1024).default(4 * 1024 * 1024),
      maxPendingRecords: int(1).default(100_000),
      maxConcurrentAppends: int(1, 16).default(1),
    })
    .prefault({}),
  limits: z
    .object({
      maxBatchEvents: int(1, 10_000).default(1000),
      /** Per API key unless its entry says otherwise; counted in events. */
      rate: z
        .object({ eventsPerSecond: z.coerce.number().positive().default(5000), burst: int(1).default(10_000) })
        .prefault({}),
    })
    .prefault({}),
  dedup: z
    .object({
      windowMs: int(0).default(10 * 60_000),
      maxEntries: int(1).default(1_000_000),
    })
    .prefault({}),
  auth: z.object({
    /** JSON file `{ "keys": [ApiKeyEntry…] }`; see api-keys.ts for the hash formats. */
    keysFile: z.string({ error: 'required: set IOCBUS_GATEWAY__AUTH__KEYS_FILE or auth.keysFile' }).min(1),
  })
    .prefault({} as { keysFile: string }),
  shutdown: z.object({ timeoutMs: int(1).default(20_000) }).prefault({}),
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid gateway configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: GatewayConfig;
  apiKeys: ApiKeyEntry[];
  /** Contents of the grpc.tls files, read with the rest so a missing file is one more reported problem. */
  grpcTls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
}

function path(segments: readonly PropertyKey[]): string {
  return segments.length === 0 ? '(root)' : segments.map(String).join('.');
}

/**
 * Environment overrides: `IOCBUS_GATEWAY__<SECTION>__<FIELD>` (double underscore = nesting, field names
 * case-insensitive, e.g. IOCBUS_GATEWAY__HTTP__PORT=8080), plus the shared `KAFKA_BROKERS` (comma separated)
 * and `IOCBUS_GATEWAY_CONFIG`, a JSON file read first.
 */
export function configInputFromEnv(env: NodeJS.ProcessEnv, readFile: (file: string) => string, problems: string[]): Record<string, unknown> {
  return envInput({ prefix: 'IOCBUS_GATEWAY', schema: gatewayConfigSchema }, env, readFile, problems);
}

/** Validates a config object and loads its key file, collecting every problem before failing. */
export function resolveConfig(
  input: unknown,
  readFile: (file: string) => string = (f) => readFileSync(f, 'utf8'),
  earlier: readonly string[] = [],
  readBytes: (file: string) => Buffer = (f) => readFileSync(f),
): LoadedConfig {
  const problems = [...earlier];
  const parsed = gatewayConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${path(issue.path)}: ${issue.message}`);
  }
  let apiKeys: ApiKeyEntry[] = [];
  const keysFile = parsed.success
    ? parsed.data.auth.keysFile
    : ((input as { auth?: { keysFile?: unknown } } | null)?.auth?.keysFile as string | undefined);
  if (typeof keysFile === 'string' && keysFile !== '') {
    try {
      const raw: unknown = JSON.parse(readFile(keysFile));
      const keys = apiKeysFileSchema.safeParse(raw);
      const keyProblems = keys.success ? [] : keys.error.issues.map((issue) => `${path(issue.path)}: ${issue.message}`);
      keyProblems.push(...duplicateKeyIds(raw));
      if (keys.success && keyProblems.length === 0) apiKeys = keys.data.keys;
      problems.push(...keyProblems.map((p) => `${keysFile}: ${p}`));
    } catch (err) {
      problems.push(`auth.keysFile: cannot read ${keysFile}: ${(err as Error).message}`);
    }
  }
  let grpcTls: LoadedConfig['grpcTls'];
  const tls = parsed.success ? parsed.data.grpc.tls : undefined;
  if (tls !== undefined) {
    const read = (field: string, file: string): Buffer | undefined => {
      try {
        return readBytes(file);
      } catch (err) {
        problems.push(`grpc.tls.${field}: cannot read ${file}: ${(err as Error).message}`);
        return undefined;
      }
    };
    const cert = read('certFile', tls.certFile);
    const key = read('keyFile', tls.keyFile);
    const clientCa = tls.clientCaFile === undefined ? undefined : read('clientCaFile', tls.clientCaFile);
    if (cert !== undefined && key !== undefined) grpcTls = { cert, key, ...(clientCa === undefined ? {} : { clientCa }) };
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return { config: parsed.data, apiKeys, ...(grpcTls === undefined ? {} : { grpcTls }) };
}

/** What main.ts calls: environment (and the file it names) → validated config, or every problem at once. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  readFile: (file: string) => string = (f) => readFileSync(f, 'utf8'),
  readBytes: (file: string) => Buffer = (f) => readFileSync(f),
): LoadedConfig {
  const problems: string[] = [];
  const input = configInputFromEnv(env, readFile, problems);
  return resolveConfig(input, readFile, problems, readBytes);
}
