import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. Credentials travel in `Authorization: Bearer …` headers and in
 * config objects (`apiKey`), so both shapes are covered at the top level and one level down (pino's redaction
 * has no recursive wildcard, so deeper nesting must not carry secrets).
 */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  'apiKey',
  'api_key',
  'password',
  'secret',
  'token',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'request.headers.authorization',
  '*.authorization',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.secret',
  '*.token',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
];

export interface LoggerFactoryOptions {
  /** Becomes the `service` field of every line. */
  service: string;
  /** pino level name; 'silent' for tests that assert nothing about logs. */
  level?: string;
  /** Where lines go; stdout (fd 1) when absent. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  /** Extra paths to redact on top of REDACTED_PATHS. */
  redact?: readonly string[];
}

/** One pino logger per service; children (`log.child({ component })`) carry context, never a global. */
export function createLogger(options: LoggerFactoryOptions): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    redact: { paths: [...REDACTED_PATHS, ...(options.redact ?? [])], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
}

/** `(obj, msg)`: the one call shape libraries below the services (the bus) are given, so they import no pino. */
export type StructuredLogFn = (obj: Record<string, unknown>, msg: string) => void;

/**
 * A logger's four levels as plain functions bound to it, for ports that take `{ debug, info, warn, error }`
 * (the bus's BusLogger): pino's methods need their `this`, and its overloaded signatures are wider than the port's.
 */
export function levelFunctions(log: Logger): { debug: StructuredLogFn; info: StructuredLogFn; warn: StructuredLogFn; error: StructuredLogFn } {
  return {
    debug: (obj, msg) => log.debug(obj, msg),
    info: (obj, msg) => log.info(obj, msg),
    warn: (obj, msg) => log.warn(obj, msg),
    error: (obj, msg) => log.error(obj, msg),
  };
}
