/**
 * The logging shape the bus needs: pino's (object first, then a short constant message).
 * Injected, so the bus imports no logging library.
 */
export type LogFn = (obj: Record<string, unknown>, msg: string) => void;

export interface BusLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const ignore: LogFn = () => {};

export const silentLogger: BusLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
