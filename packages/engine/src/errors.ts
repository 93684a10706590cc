import { IocError } from '@iocbus/errors';

/**
 * Snapshot or partial bytes that cannot be decoded: truncated, corrupt, or written by a format version this
 * build does not know. Not retriable: the bytes will not change; the aggregator falls back to replaying the
 * input from an earlier point.
 */
export class EngineDecodeError extends IocError {
  constructor(message: string, cause?: unknown) {
    super('IOC_ENGINE_DECODE', message, { retriable: false, cause });
    this.name = 'EngineDecodeError';
  }
}

/** Invalid engine options (a programming or configuration error, reported at construction). */
export class EngineConfigError extends IocError {
  constructor(message: string) {
    super('IOC_ENGINE_CONFIG', message, { retriable: false });
    this.name = 'EngineConfigError';
  }
}
