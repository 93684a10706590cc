/**
 * The environment → config input step every service shares: a JSON file named by one variable, then one
 * variable per setting walked against the zod schema's shape, then the shared KAFKA_BROKERS. Validation
 * stays with each service's schema; this only gathers input and notes what cannot be a setting.
 */

export interface EnvConfigSource {
  /** Variable prefix without trailing underscores, e.g. `IOCBUS_GATEWAY` (→ `IOCBUS_GATEWAY__HTTP__PORT`). */
  prefix: string;
  /** Variable naming the JSON file read first; defaults to `<prefix>_CONFIG`. */
  fileVariable?: string;
  /** The service's zod object schema (only its `shape` is read, through default/prefault/optional wrappers). */
  schema: { shape: Record<string, unknown> };
  /** Field names whose environment value is a comma-separated list; defaults to `['brokers']`. */
  listFields?: readonly string[];
}

const splitList = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** The fields of an object schema, seen through default/prefault/optional wrappers; undefined for leaves. */
function objectShape(schema: unknown): Record<string, unknown> | undefined {
  let s = schema as { shape?: Record<string, unknown>; def?: { innerType?: unknown; type?: string } } | undefined;
  for (let depth = 0; s !== undefined && depth < 8; depth++) {
    if (s.def?.type === 'object' && s.shape !== undefined) return s.shape;
    s = s.def?.innerType as typeof s;
  }
  return undefined;
}

/**
 * `<fileVariable>` (a JSON file, read first), then `<prefix>__<SECTION>__<FIELD>` (field names
 * case-insensitive, underscores ignored, e.g. IOCBUS_VIEW__SUBSCRIBE__HEARTBEAT_MS=2000), then `KAFKA_BROKERS`
 * for kafka.brokers when nothing earlier set it. Problems are appended to `problems` so the caller can report
 * them together with the schema's.
 */
export function configInputFromEnv(
  source: EnvConfigSource,
  env: NodeJS.ProcessEnv,
  readFile: (file: string) => string,
  problems: string[],
): Record<string, unknown> {
  const fileVariable = source.fileVariable ?? `${source.prefix}_CONFIG`;
  const prefix = `${source.prefix}__`;
  const listFields = source.listFields ?? ['brokers'];
  let input: Record<string, unknown> = {};
  const file = env[fileVariable];
  if (file !== undefined && file !== '') {
    try {
      const parsed: unknown = JSON.parse(readFile(file));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) input = parsed as Record<string, unknown>;
      else problems.push(`${fileVariable}: ${file} must hold a JSON object`);
    } catch (err) {
      problems.push(`${fileVariable}: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined) continue;
    const parts = name.slice(prefix.length).split('__');
    let shape = source.schema.shape;
    let target = input;
    const path: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const wanted = (parts[i] as string).toLowerCase().replace(/_/g, '');
      const field = Object.keys(shape).find((f) => f.toLowerCase() === wanted);
      if (field === undefined) {
        problems.push(`${name}: not a known setting${path.length > 0 ? ` of ${path.join('.')}` : ''} (${prefix}<SECTION>__<FIELD>)`);
        break;
      }
      path.push(field);
      const inner = objectShape(shape[field]);
      if (i === parts.length - 1) {
        if (inner !== undefined) problems.push(`${name}: ${path.join('.')} is a section, not a setting`);
        else target[field] = listFields.includes(field) ? splitList(value) : value;
      } else if (inner === undefined) {
        problems.push(`${name}: ${path.join('.')} has no settings below it`);
        break;
      } else {
        target = (target[field] ??= {}) as Record<string, unknown>;
        shape = inner;
      }
    }
  }
  if (env.KAFKA_BROKERS !== undefined && env.KAFKA_BROKERS !== '') {
    const kafka = (input.kafka ??= {}) as Record<string, unknown>;
    kafka.brokers ??= splitList(env.KAFKA_BROKERS);
  }
  return input;
}
