/**
 * Drives a ProvinceSimulator against the wall clock and hands its events to a sink (an ingest endpoint or
 * an NDJSON stream). Two phases: while the simulated clock is behind the wall clock (a backfill of past
 * days) it runs as fast as the sink and the rate limit allow; then it follows the wall clock at `speed`
 * simulated seconds per real second (1 = real time; 1440 = a day per minute).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { EventOutcome, IngestClient } from '../ingest-client/outcome.js';
import { DEFAULT_RETRY, sendSplitting, type RetryPolicy } from '../ingest-client/retry.js';
import type { ProvinceSimulator, SimulatedEvent } from '../simulator/index.js';
import { formatLocal } from '../simulator/index.js';
import { Progress, formatCount } from '../util/progress.js';
import { RateLimiter } from '../util/rate.js';

export type SimulationSink =
  | { kind: 'client'; client: IngestClient }
  | { kind: 'stream'; write(text: string): Promise<void> };

export interface RunSimulationOptions {
  simulator: ProvinceSimulator;
  sink: SimulationSink;
  /** Simulated ms per real ms once caught up with the wall clock (default 1). */
  speed?: number;
  /** Stop when the simulated clock reaches this (ms). */
  until?: number;
  /** Stop after this many events. */
  maxEvents?: number;
  /** Events per second sent at most. */
  rate?: number;
  batchSize?: number;
  /**
   * Simulated time up to which to run as fast as possible before following the wall clock; default the
   * wall clock itself (a backfill of the past). A fixed time replays a chosen day from its morning.
   */
  catchUpUntil?: number;
  /** Follow the wall clock at all (false: emit everything up to `until` at full speed, e.g. to a file). */
  paced?: boolean;
  retry?: RetryPolicy;
  progress?: Progress;
  signal?: AbortSignal;
  /** While it returns true nothing is sent and the simulated clock holds still. */
  paused?: () => boolean;
  /** Wall clock (ms). */
  now?: () => number;
  /** Called with every event handed to the sink, after its answer (for tests and counters). */
  onSent?(events: readonly SimulatedEvent[], outcomes: readonly EventOutcome[] | undefined): void;
}

export interface SimulationSummary {
  sent: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  simulatedFrom: number;
  simulatedTo: number;
}

const TICK_MS = 250;

export async function runSimulation(options: RunSimulationOptions): Promise<SimulationSummary> {
  const sim = options.simulator;
  const now = options.now ?? Date.now;
  const speed = options.speed ?? 1;
  const batchSize = options.batchSize ?? 500;
  const paced = options.paced ?? true;
  const progress = options.progress ?? new Progress({ quiet: true });
  const limiter = options.rate === undefined ? undefined : new RateLimiter(options.rate);
  const retry = options.retry ?? DEFAULT_RETRY;
  const summary: SimulationSummary = { sent: 0, accepted: 0, duplicate: 0, rejected: 0, simulatedFrom: sim.now, simulatedTo: sim.now };
  let rejectsShown = 0;
  // Anchor of the live phase: simulated time `simAnchor` corresponds to wall time `realAnchor`.
  const catchUpEnd = (): number => options.catchUpUntil ?? now();
  let live = !paced || sim.now >= catchUpEnd();
  let realAnchor = now();
  let simAnchor = sim.now;
  const started = now();

  const target = (): number => {
    if (!paced) return options.until ?? Number.POSITIVE_INFINITY;
    if (!live) return catchUpEnd();
    return simAnchor + (now() - realAnchor) * speed;
  };

  async function deliver(events: SimulatedEvent[]): Promise<void> {
    if (limiter !== undefined) await limiter.take(events.length, options.signal);
    let outcomes: EventOutcome[] | undefined;
    if (options.sink.kind === 'stream') {
      await options.sink.write(events.map((e) => `${JSON.stringify(e.event)}\n`).join(''));
      summary.accepted += events.length;
    } else {
      outcomes = await sendSplitting(
        options.sink.client,
        events.map((e) => e.event),
        retry,
        {
          onRetry: (reason, waitMs) => progress.log(`retrying in ${(waitMs / 1000).toFixed(1)} s: ${reason}`),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        },
      );
      for (const o of outcomes) {
        summary[o.status]++;
        if (o.status === 'rejected' && rejectsShown++ < 5) {
          progress.log(`rejected ${o.id}: ${(o.problems ?? []).map((p) => `${p.path}: ${p.message}`).join('; ') || o.message}`);
        }
      }
    }
    summary.sent += events.length;
    options.onSent?.(events, outcomes);
  }

  const report = (force = false): void => {
    const seconds = Math.max(0.001, (now() - started) / 1000);
    const phase = !paced ? 'writing' : live ? `live ×${speed}` : 'catching up';
    const text =
      `${phase} · simulated ${formatLocal(sim.now).slice(0, 16).replace('T', ' ')} · sent ${formatCount(summary.sent)}` +
      ` (${formatCount(Math.round(summary.sent / seconds))}/s) · accepted ${formatCount(summary.accepted)} · duplicate ${formatCount(summary.duplicate)}` +
      ` · rejected ${formatCount(summary.rejected)} · in flight ${formatCount(sim.stats().pending)}`;
    const span = (options.until ?? catchUpEnd()) - summary.simulatedFrom;
    const fraction = !live || !paced ? Math.min(1, Math.max(0, (sim.now - summary.simulatedFrom) / Math.max(1, span))) : undefined;
    progress.update(text, fraction, force);
  };

  while (!(options.signal?.aborted ?? false)) {
    if (options.paused?.() === true) {
      await delay(TICK_MS);
      realAnchor = now();
      simAnchor = sim.now;
      continue;
    }
    const until = options.until ?? Number.POSITIVE_INFINITY;
    const left = (options.maxEvents ?? Number.POSITIVE_INFINITY) - summary.sent;
    if (left <= 0 || sim.now >= until) break;
    const to = Math.min(target(), until);
    const events = sim.advanceTo(to, Math.min(batchSize, left));
    try {
      if (events.length > 0) await deliver(events);
    } catch (err) {
      // Stopping (Ctrl-C) interrupts the batch in flight; the summary still says what was sent.
      if (options.signal?.aborted === true) break;
      throw err;
    }
    report();
    if (!live && sim.now >= catchUpEnd() - TICK_MS && events.length < batchSize) {
      live = true;
      realAnchor = now();
      simAnchor = sim.now;
      progress.log(`caught up at ${formatLocal(sim.now)}; following the wall clock at ×${speed}`);
    }
    if (live && paced && events.length < batchSize) {
      // Sleep until the next planned event is due, bounded so progress and pauses stay responsive.
      const next = sim.peekSendAt();
      const waitSim = next === undefined ? TICK_MS * speed : next - target();
      await delay(Math.max(10, Math.min(TICK_MS, waitSim / speed)), undefined, options.signal === undefined ? {} : { signal: options.signal }).catch(() => undefined);
    }
  }
  summary.simulatedTo = sim.now;
  return summary;
}
