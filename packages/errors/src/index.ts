/**
 * The one error base of iocbus. Every error a caller may need to act on carries a stable
 * `code` (IOC_<AREA>_<WHAT>, listed in docs/errors.md) and answers one question: `retriable`.
 * Transports map codes to their own statuses in one table each (HTTP status, gRPC status).
 */
export interface IocErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class IocError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: IocErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IocError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }
}

export function isIocError(err: unknown): err is IocError {
  return err instanceof IocError;
}
