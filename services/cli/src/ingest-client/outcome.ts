/** What an ingest endpoint answered for a batch, in terms the publisher acts on. */

export interface Problem {
  path: string;
  message: string;
}

export type EventStatus = 'accepted' | 'duplicate' | 'rejected';

/** The fate of one event of a batch, in the batch's order. */
export interface EventOutcome {
  id: string;
  source: string;
  status: EventStatus;
  code?: string;
  message?: string;
  problems?: readonly Problem[];
}

export type BatchAnswer =
  /** The endpoint answered for every event. */
  | { kind: 'done'; outcomes: EventOutcome[] }
  /** Nothing may be assumed written: send the same batch again (after `retryAfterMs` when given). */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** The request as a whole was too big: split it. */
  | { kind: 'too_large'; reason: string }
  /** Sending again will not help (bad credential, misconfigured endpoint). */
  | { kind: 'fatal'; reason: string; code?: string };

export interface IngestClient {
  /** Where it sends, for messages. */
  readonly target: string;
  send(events: readonly unknown[], signal?: AbortSignal): Promise<BatchAnswer>;
  close(): Promise<void>;
}
