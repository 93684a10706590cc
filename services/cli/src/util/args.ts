/**
 * Argument helpers on top of node:util parseArgs: typed value parsing with messages that name the option,
 * and one error type the entry point turns into "usage error, exit 2".
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;
import { IocError } from '@iocbus/errors';

export class UsageError extends IocError {
  constructor(message: string) {
    super('IOC_CLI_USAGE', message, { retriable: false });
    this.name = 'UsageError';
  }
}

export function parse<O extends Options>(argv: readonly string[], options: O, allowPositionals = false): Parsed<O> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true }) as Parsed<O>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function number(name: string, value: string | undefined, opts: { min?: number; integer?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || (opts.integer === true && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new UsageError(`--${name}: expected ${opts.integer === true ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}, got "${value}"`);
  }
  return n;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "2h", "3d", "1h30m" or plain milliseconds. */
export function duration(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (at !== value.length || value.length === 0) throw new UsageError(`--${name}: expected a duration like 90s, 15m, 2h, 3d or 1h30m, got "${value}"`);
  return total;
}

/** "now", "today" (local midnight, Asia/Ho_Chi_Minh) or an RFC 3339 timestamp with offset. */
export function instant(name: string, value: string | undefined, now: number, startOfToday: number): number | undefined {
  if (value === undefined) return undefined;
  if (value === 'now') return now;
  if (value === 'today') return startOfToday;
  if (!/[zZ]|[+-]\d{2}:\d{2}$/.test(value)) throw new UsageError(`--${name}: expected now, today or an RFC 3339 time with offset (2025-07-01T07:00:00+07:00), got "${value}"`);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${name}: cannot read "${value}" as a time`);
  return t;
}

/** host:port for gRPC targets. */
export function hostPort(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[^\s:]+:\d{1,5}$/.test(value) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(value)) throw new UsageError(`--${name}: expected host:port, got "${value}"`);
  return value;
}
