/**
 * Sending a batch until it gets a final answer: retriable failures (429 with Retry-After, 503, network
 * errors) wait and send the same batch again. Resending is safe because the gateway deduplicates by
 * (source, id): whatever was written before the failure comes back as a duplicate.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { IocError } from '@iocbus/errors';
import type { BatchAnswer, EventOutcome, IngestClient } from './outcome.js';

export interface RetryPolicy {
  /** First backoff without a Retry-After hint; doubles per attempt. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up on one batch after retrying this long. */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialDelayMs: 250, maxDelayMs: 15_000, giveUpAfterMs: 10 * 60_000 };

export class PublishError extends IocError {
  constructor(code: 'IOC_CLI_PUBLISH_FATAL' | 'IOC_CLI_PUBLISH_GAVE_UP', message: string, options: { retriable: boolean; cause?: unknown } = { retriable: false }) {
    super(code, message, options);
    this.name = 'PublishError';
  }
}

export interface RetryHooks {
  onRetry?(reason: string, waitMs: number, attempt: number): void;
  signal?: AbortSignal;
  /** Injected for tests; defaults to Math.random (jitter needs no reproducibility). */
  random?: () => number;
}

export type FinalAnswer = Exclude<BatchAnswer, { kind: 'retry' }>;

export async function sendWithRetry(
  client: IngestClient,
  events: readonly unknown[],
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<FinalAnswer> {
  const started = Date.now();
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    const answer = await client.send(events, hooks.signal);
    if (answer.kind !== 'retry') return answer;
    const backoff = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
    // Full jitter spreads many clients out; a server's Retry-After is a floor, not a suggestion.
    const wait = Math.max(answer.retryAfterMs ?? 0, Math.round(backoff * (0.5 + random() / 2)));
    if (Date.now() + wait - started > policy.giveUpAfterMs) {
      throw new PublishError('IOC_CLI_PUBLISH_GAVE_UP', `gave up after ${attempt} attempts over ${Math.round((Date.now() - started) / 1000)} s: ${answer.reason}`, {
        retriable: true,
      });
    }
    hooks.onRetry?.(answer.reason, wait, attempt);
    await delay(wait, undefined, hooks.signal === undefined ? {} : { signal: hooks.signal });
  }
}

/**
 * Sends a batch with retries, splitting it when the endpoint says it is too large; a single event that is
 * still too large is rejected with that reason. Returns one outcome per event, in order.
 */
export async function sendSplitting(
  client: IngestClient,
  events: readonly unknown[],
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<EventOutcome[]> {
  const answer = await sendWithRetry(client, events, policy, hooks);
  if (answer.kind === 'done') return answer.outcomes;
  if (answer.kind === 'fatal') throw new PublishError('IOC_CLI_PUBLISH_FATAL', `${client.target}: ${answer.reason}`);
  if (events.length === 1) {
    const e = (events[0] ?? {}) as { id?: unknown; source?: unknown };
    return [
      {
        id: typeof e.id === 'string' ? e.id : '',
        source: typeof e.source === 'string' ? e.source : '',
        status: 'rejected',
        code: 'IOC_GATEWAY_BODY_TOO_LARGE',
        message: answer.reason,
        problems: [{ path: '$', message: `the event alone is larger than the gateway accepts (${answer.reason})` }],
      },
    ];
  }
  const half = Math.ceil(events.length / 2);
  const first = await sendSplitting(client, events.slice(0, half), policy, hooks);
  const second = await sendSplitting(client, events.slice(half), policy, hooks);
  return [...first, ...second];
}
