import { setTimeout as delay } from 'node:timers/promises';
import { TestingError } from './errors.js';

export interface WaitForOptions {
  /** Give up after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** Says what was awaited, so a timeout reads as a failed expectation rather than a bare timeout. */
  message?: string;
}

/**
 * Polls `fn` until it returns a truthy value without throwing, and returns that value.
 * On timeout the error names `message` and carries the last thrown error (or last falsy value) as cause,
 * so an assertion thrown inside `fn` explains what never became true.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let last: { error: unknown } | { value: unknown } = { value: undefined };
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) break;
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const what = options.message ?? 'condition';
  const detail = 'error' in last ? describe(last.error) : `last value: ${String(last.value)}`;
  throw new TestingError('IOC_TESTING_WAIT_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what} (${detail})`, {
    cause: 'error' in last ? last.error : undefined,
    details: { timeoutMs },
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? `last error: ${error.message}` : `last error: ${String(error)}`;
}
