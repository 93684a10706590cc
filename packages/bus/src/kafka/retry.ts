import { setTimeout as sleep } from 'node:timers/promises';
import type { BusError } from '../errors.js';
import { mapKafkaError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/**
 * Runs `fn` again after retriable failures, with exponential backoff, `retry.retries` times at most;
 * `beforeRetry` may reload metadata. kafkajs's own retriers give up on some transient answers (a
 * partition without a leader yet, right after it was created), so calls whose failure would stop a
 * consumer go through this too.
 */
export async function retrying<T>(
  what: string,
  fn: () => Promise<T>,
  retry: ResolvedOptions['retry'],
  beforeRetry: (err: unknown) => Promise<void> = async () => {},
  stopped: () => boolean = () => false,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const mapped: BusError = mapKafkaError(err, what);
      if (!mapped.retriable || attempt >= retry.retries || stopped()) throw mapped;
      await beforeRetry(err);
      await sleep(Math.min(retry.initialRetryTimeMs * 2 ** attempt, retry.maxRetryTimeMs));
    }
  }
}
