import { IocError, type IocErrorOptions } from '@iocbus/errors';

/**
 * Every bus failure a caller may act on. The only question that matters is `retriable`:
 * the same call, repeated later, may succeed (a broker is down, a leader is moving).
 */
export const BusErrorCode = {
  /** Broker unreachable, request timed out, leader or coordinator moving, too few in-sync replicas. */
  Unavailable: 'IOC_BUS_UNAVAILABLE',
  /** The topic does not exist (topics are never created implicitly). */
  UnknownTopic: 'IOC_BUS_UNKNOWN_TOPIC',
  RecordTooLarge: 'IOC_BUS_RECORD_TOO_LARGE',
  /** A malformed argument: bad offset, bad topic spec, unknown topic config. */
  InvalidRequest: 'IOC_BUS_INVALID_REQUEST',
  NotAuthorized: 'IOC_BUS_NOT_AUTHORIZED',
  /** A commit for a partition this member does not own. */
  NotAssigned: 'IOC_BUS_NOT_ASSIGNED',
  /** The group moved on (rebalance, expired membership) before the commit landed. */
  CommitRejected: 'IOC_BUS_COMMIT_REJECTED',
  /** A consumer callback threw; the error is the cause. */
  HandlerFailed: 'IOC_BUS_HANDLER_FAILED',
  /** The client was closed or stopped. */
  Closed: 'IOC_BUS_CLOSED',
  /** Any other client failure. */
  Failed: 'IOC_BUS_FAILED',
} as const;

export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];

export class BusError extends IocError {
  declare readonly code: BusErrorCode;

  constructor(code: BusErrorCode, message: string, options: IocErrorOptions = {}) {
    super(code, message, { retriable: code === BusErrorCode.Unavailable, ...options });
    this.name = 'BusError';
  }
}

export function handlerFailed(what: string, cause: unknown): BusError {
  if (cause instanceof BusError && cause.code === BusErrorCode.HandlerFailed) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new BusError(BusErrorCode.HandlerFailed, `${what} failed: ${reason}`, { cause });
}

export function closedError(what: string): BusError {
  return new BusError(BusErrorCode.Closed, `${what} is closed`);
}
