import type { BusRecord } from '@iocbus/bus';
import { dedupKey, toKafkaRecord, type DossierEvent } from '@iocbus/events';
import type { Principal } from './api-keys.js';
import type { MicroBatcher } from './batcher.js';
import { GatewayError, toGatewayError, type GatewayErrorCode, type Problem } from './errors.js';
import type { KafkaHealth } from './kafka-health.js';
import type { GatewayMetrics, Transport } from './metrics.js';
import type { RecentlySeen } from './recently-seen.js';

/** One event as it arrives from a transport: validated, or the problems that stop it. */
export type Candidate =
  | { ok: true; event: DossierEvent }
  | { ok: false; id: string; source: string; problems: readonly Problem[] };

export type EventStatus = 'accepted' | 'duplicate' | 'rejected' | 'failed';

export interface EventResult {
  id: string;
  source: string;
  status: EventStatus;
  /** For rejected and failed events. */
  code?: GatewayErrorCode;
  message?: string;
  problems?: readonly Problem[];
}

export interface IngestOutcome {
  results: EventResult[];
  /** Set when some events could not be written (Kafka unavailable): the request as a whole failed. */
  error?: GatewayError;
}

export interface IngestorOptions {
  batcher: MicroBatcher;
  seen: RecentlySeen;
  health: KafkaHealth;
  metrics: GatewayMetrics;
  /** Longest wait for Kafka's acknowledgement before answering 503. */
  produceTimeoutMs: number;
}

/** Reads what a client sent back to it, for results of events that did not validate. */
export function idAndSource(input: unknown): { id: string; source: string } {
  const o = typeof input === 'object' && input !== null ? (input as Record<string, unknown>) : {};
  return { id: typeof o.id === 'string' ? o.id : '', source: typeof o.source === 'string' ? o.source : '' };
}

/** What the key may not publish in this event; undefined (no allocation) when it may publish all of it. */
function forbidden(principal: Principal, event: DossierEvent): Problem[] | undefined {
  const source = principal.mayPublishSource(event.source);
  const unit = principal.mayPublishUnit(event.data.unitCode);
  if (source && unit) return undefined;
  const problems: Problem[] = [];
  if (!source) {
    problems.push({ path: '$.source', message: `source: this API key may not publish for source "${event.source}"` });
  }
  if (!unit) {
    problems.push({ path: '$.data.unitCode', message: `data.unitCode: this API key may not publish for unit "${event.data.unitCode}"` });
  }
  return problems;
}

/**
 * The transport-neutral core: authorise each event, drop recent duplicates, write the rest through the
 * micro-batcher and wait for Kafka. An event is reported accepted only after Kafka acknowledged it, and is
 * remembered as seen only then, so a retry after a 503 is written again rather than reported duplicate.
 */
export class Ingestor {
  /** Dedup keys being written, with whether the write was acknowledged: a concurrent copy waits for it. */
  private readonly writing = new Map<string, Promise<boolean>>();

  constructor(private readonly options: IngestorOptions) {}

  /**
   * Synchronous up to the write, so that the candidates are not held while Kafka is awaited (their records
   * and results hold what is still needed); a throw comes back as the promise's rejection.
   */
  ingest(principal: Principal, candidates: readonly Candidate[], transport: Transport): Promise<IngestOutcome> {
    const results: EventResult[] = new Array(candidates.length);
    const records: BusRecord[] = [];
    const keys: string[] = [];
    // Events whose fate is this request's write: the ones written, and second copies of them in this request.
    const own: number[] = [];
    const waiting: { index: number; acked: Promise<boolean> }[] = [];
    // This request's write, as `writing` holds it; settled once the write is, and known before it starts,
    // so that a second copy in this request finds the first by the same lookup as a copy in another request.
    let settle!: (ok: boolean) => void;
    const acked = new Promise<boolean>((resolve) => (settle = resolve));

    try {
      this.sort(principal, candidates, results, acked, records, keys, own, waiting);
    } catch (err) {
      // Nothing was submitted: copies must not wait for a write that will never happen.
      for (const key of keys) this.writing.delete(key);
      settle(false);
      return Promise.reject(err);
    }

    let write: Promise<void> | undefined;
    if (records.length > 0) {
      write = submit(this.options.batcher, records);
      write.then(
        () => settle(true),
        () => settle(false),
      );
      // Bookkeeping follows the real outcome, which may come after this request gave up waiting.
      void acked.then((ok) => {
        for (const key of keys) {
          if (this.writing.get(key) === acked) this.writing.delete(key);
        }
        if (ok) this.options.seen.addAll(keys);
      });
    }
    return this.outcome(write, results, own, waiting, transport);
  }

  /** Waits for this request's write and for the writes its copies wait on; answers per event. */
  private async outcome(
    write: Promise<void> | undefined,
    results: EventResult[],
    own: readonly number[],
    waiting: readonly { index: number; acked: Promise<boolean> }[],
    transport: Transport,
  ): Promise<IngestOutcome> {
    let failure: GatewayError | undefined;
    if (write !== undefined) {
      try {
        await this.withinTimeout(write);
      } catch (err) {
        failure = toGatewayError(err);
        for (const i of own) results[i] = failed(results[i] as EventResult, failure);
      }
    }
    if (waiting.length > 0) {
      const outcomes = await Promise.all(waiting.map((w) => this.withinTimeout(w.acked).catch(() => false)));
      outcomes.forEach((ok, j) => {
        if (ok) return;
        const { index } = waiting[j] as { index: number };
        failure ??= unavailable(this.options.produceTimeoutMs);
        results[index] = failed(results[index] as EventResult, failure);
      });
    }
    this.count(results, transport);
    return failure === undefined ? { results } : { results, error: failure };
  }

  /**
   * Decides each candidate's result; the ones to write go to records (their dedup keys to keys and to
   * `writing`, holding this request's write), copies of events in flight to own (this request's) or waiting.
   */
  private sort(
    principal: Principal,
    candidates: readonly Candidate[],
    results: EventResult[],
    acked: Promise<boolean>,
    records: BusRecord[],
    keys: string[],
    own: number[],
    waiting: { index: number; acked: Promise<boolean> }[],
  ): void {
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i] as Candidate;
      if (!candidate.ok) {
        results[i] = rejected(candidate.id, candidate.source, 'IOC_GATEWAY_VALIDATION', candidate.problems);
        continue;
      }
      const { event } = candidate;
      const denied = forbidden(principal, event);
      if (denied !== undefined) {
        results[i] = rejected(event.id, event.source, 'IOC_GATEWAY_FORBIDDEN', denied);
        continue;
      }
      const key = dedupKey(event);
      results[i] = { id: event.id, source: event.source, status: 'duplicate' };
      if (this.options.seen.has(key)) continue;
      const pending = this.writing.get(key);
      if (pending === acked) {
        own.push(i);
        continue;
      }
      if (pending !== undefined) {
        waiting.push({ index: i, acked: pending });
        continue;
      }
      records.push(toKafkaRecord(event));
      this.writing.set(key, acked);
      keys.push(key);
      own.push(i);
      (results[i] as EventResult).status = 'accepted';
    }
  }

  private async withinTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.options.health.report(false, new Error('produce timed out'));
            reject(unavailable(this.options.produceTimeoutMs));
          }, this.options.produceTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private count(results: readonly EventResult[], transport: Transport): void {
    let accepted = 0;
    let duplicate = 0;
    let rejectedCount = 0;
    let failedCount = 0;
    for (const r of results) {
      if (r.status === 'accepted') accepted++;
      else if (r.status === 'duplicate') duplicate++;
      else if (r.status === 'rejected') rejectedCount++;
      else failedCount++;
    }
    const events = this.options.metrics.events;
    if (accepted > 0) events.inc({ transport, result: 'accepted' }, accepted);
    if (duplicate > 0) events.inc({ transport, result: 'duplicate' }, duplicate);
    if (rejectedCount > 0) events.inc({ transport, result: 'rejected' }, rejectedCount);
    if (failedCount > 0) events.inc({ transport, result: 'failed' }, failedCount);
  }
}

/** The batcher's submission, a synchronous throw included as its rejection (so `writing` is always cleaned up). */
function submit(batcher: MicroBatcher, records: readonly BusRecord[]): Promise<void> {
  try {
    return batcher.submit(records);
  } catch (err) {
    return Promise.reject(err);
  }
}

function rejected(id: string, source: string, code: GatewayErrorCode, problems: readonly Problem[]): EventResult {
  const first = problems[0]?.message ?? 'invalid event';
  const message = problems.length > 1 ? `${first} (and ${problems.length - 1} more problems)` : first;
  return { id, source, status: 'rejected', code, message, problems };
}

function failed(result: EventResult, error: GatewayError): EventResult {
  return { id: result.id, source: result.source, status: 'failed', code: error.code, message: error.message };
}

function unavailable(timeoutMs: number): GatewayError {
  return new GatewayError(
    'IOC_GATEWAY_KAFKA_UNAVAILABLE',
    `Kafka did not acknowledge within ${timeoutMs} ms; retry (an event that was written after all comes back duplicate)`,
    { retryAfterMs: 1000 },
  );
}
