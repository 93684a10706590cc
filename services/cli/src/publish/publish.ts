/**
 * `iocbus publish FILE.ndjson`: sends a file of CloudEvents (one JSON object per line) in batches, retrying
 * what is retriable, writing every rejected line with its reasons to a rejects file, and recording after
 * each batch where to resume. Batches complete in file order, so the resume point is always a line before
 * which every event has a final answer.
 */
import { open, stat, truncate } from 'node:fs/promises';
import { resolve } from 'node:path';
import { IocError } from '@iocbus/errors';
import type { EventOutcome, IngestClient } from '../ingest-client/outcome.js';
import { DEFAULT_RETRY, sendSplitting, type RetryPolicy } from '../ingest-client/retry.js';
import { Progress, formatCount, formatDuration } from '../util/progress.js';
import { RateLimiter } from '../util/rate.js';
import { readLines, type Line } from './lines.js';
import { STATE_FORMAT, headHash, readState, resumeProblem, writeState, type PublishCounts, type PublishState } from './state.js';

export interface PublishOptions {
  file: string;
  client: IngestClient;
  /** NDJSON of rejected lines with their reasons; default FILE.rejects.ndjson. */
  rejectsPath?: string;
  /** Resume state; default FILE.publish-state.json. */
  statePath?: string;
  /** Continue from the saved state; otherwise an unfinished state is an error (pass restart to start over). */
  resume?: boolean;
  restart?: boolean;
  batchSize?: number;
  /** Upper bound on a batch's JSON bytes (the gateway's body limit is 1 MiB by default). */
  maxBatchBytes?: number;
  /** Events per second; unlimited when absent. */
  rate?: number;
  /** Batches in flight at once (answers are still recorded in file order). Default 1. */
  concurrency?: number;
  retry?: RetryPolicy;
  progress?: Progress;
  signal?: AbortSignal;
}

export interface PublishSummary extends PublishCounts {
  file: string;
  rejectsPath: string;
  statePath: string;
  /** Line the run started at (1 unless resumed). */
  startLine: number;
  elapsedMs: number;
}

export class PublishStateError extends IocError {
  constructor(message: string) {
    super('IOC_CLI_PUBLISH_STATE', message, { retriable: false });
    this.name = 'PublishStateError';
  }
}

interface Pending {
  lines: Line[];
  /** Index into `lines` of each event sent (lines that did not parse are rejected locally). */
  events: unknown[];
  sentLines: Line[];
  localRejects: { line: Line; outcome: EventOutcome }[];
  answer: Promise<EventOutcome[]>;
}

const MAX_TEXT_IN_REJECTS = 10_000;

export async function publishFile(options: PublishOptions): Promise<PublishSummary> {
  const file = resolve(options.file);
  const rejectsPath = options.rejectsPath ?? `${file}.rejects.ndjson`;
  const statePath = options.statePath ?? `${file}.publish-state.json`;
  const batchSize = options.batchSize ?? 500;
  const maxBatchBytes = options.maxBatchBytes ?? 900_000;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const retry = options.retry ?? DEFAULT_RETRY;
  const progress = options.progress ?? new Progress({ quiet: true });
  const limiter = options.rate === undefined ? undefined : new RateLimiter(options.rate);
  const size = (await stat(file)).size;
  const started = Date.now();

  const saved = await readState(statePath);
  let state: PublishState;
  if (options.resume === true && saved !== undefined) {
    const problem = await resumeProblem(saved, file);
    if (problem !== undefined) throw new PublishStateError(`cannot resume from ${statePath}: ${problem}`);
    if (saved.done) {
      progress.done(`${file}: already published completely (${statePath}); nothing to do. Use --restart to send it again.`);
      return { ...saved.counts, file, rejectsPath, statePath, startLine: saved.nextLine, elapsedMs: 0 };
    }
    state = saved;
    // Rejects written after the last saved point belong to batches that will be answered again.
    await truncateTo(rejectsPath, state.rejectsBytes);
    progress.log(`resuming ${file} at line ${formatCount(state.nextLine)} (byte ${formatCount(state.nextOffset)})`);
  } else {
    if (saved !== undefined && !saved.done && options.restart !== true) {
      throw new PublishStateError(
        `a previous run of ${file} stopped at line ${saved.nextLine} (${statePath}); pass --resume to continue it or --restart to start over`,
      );
    }
    state = {
      format: STATE_FORMAT,
      file,
      headSha256: await headHash(file),
      target: options.client.target,
      nextLine: 1,
      nextOffset: 0,
      rejectsBytes: 0,
      counts: { lines: 0, blank: 0, accepted: 0, duplicate: 0, rejected: 0 },
      done: false,
      updatedAt: new Date().toISOString(),
    };
    await truncateTo(rejectsPath, 0);
    await writeState(statePath, state);
  }
  const startLine = state.nextLine;
  const startOffset = state.nextOffset;
  const rejects = await open(rejectsPath, 'a');
  let rejectsBytes = state.rejectsBytes;
  let retries = 0;

  const report = (force = false): void => {
    const c = state.counts;
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = (state.nextOffset - startOffset) / seconds;
    const eta = rate > 0 ? ((size - state.nextOffset) / rate) * 1000 : Number.NaN;
    progress.update(
      `line ${formatCount(state.nextLine - 1)} · accepted ${formatCount(c.accepted)} · duplicate ${formatCount(c.duplicate)} · rejected ${formatCount(c.rejected)}` +
        `${retries > 0 ? ` · retries ${retries}` : ''} · ${formatCount(Math.round((c.lines - (startLine - 1)) / seconds))} lines/s · ETA ${formatDuration(eta)}`,
      size === 0 ? 1 : state.nextOffset / size,
      force,
    );
  };

  const hooks = {
    onRetry: (reason: string, waitMs: number, attempt: number) => {
      retries++;
      progress.log(`retrying a batch in ${(waitMs / 1000).toFixed(1)} s (attempt ${attempt + 1}): ${reason}`);
    },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };

  async function complete(p: Pending): Promise<void> {
    const outcomes = await p.answer;
    const byLine = new Map<number, EventOutcome>();
    p.sentLines.forEach((line, i) => byLine.set(line.number, outcomes[i] as EventOutcome));
    for (const r of p.localRejects) byLine.set(r.line.number, r.outcome);
    let out = '';
    for (const line of p.lines) {
      const o = byLine.get(line.number);
      if (o === undefined) continue;
      state.counts[o.status]++;
      if (o.status === 'rejected') out += `${JSON.stringify(rejectRecord(line, o))}\n`;
    }
    if (out.length > 0) {
      const buf = Buffer.from(out);
      await rejects.write(buf);
      rejectsBytes += buf.length;
    }
    const last = p.lines[p.lines.length - 1] as Line;
    state.nextLine = last.number + 1;
    state.nextOffset = last.end;
    state.rejectsBytes = rejectsBytes;
    state.updatedAt = new Date().toISOString();
    await writeState(statePath, state);
    report();
  }

  const inFlight: Pending[] = [];
  let batch: Line[] = [];
  let batchBytes = 2;
  async function flush(): Promise<void> {
    if (batch.length === 0) return;
    const lines = batch;
    batch = [];
    batchBytes = 2;
    const events: unknown[] = [];
    const sentLines: Line[] = [];
    const localRejects: Pending['localRejects'] = [];
    for (const line of lines) {
      if (line.text.trim() === '') {
        state.counts.blank++;
        continue;
      }
      state.counts.lines++;
      try {
        events.push(JSON.parse(line.text));
        sentLines.push(line);
      } catch (err) {
        localRejects.push({
          line,
          outcome: {
            id: '',
            source: '',
            status: 'rejected',
            code: 'IOC_CLI_MALFORMED_JSON',
            message: 'the line is not valid JSON',
            problems: [{ path: '$', message: `not valid JSON: ${(err as Error).message}` }],
          },
        });
      }
    }
    if (limiter !== undefined && events.length > 0) await limiter.take(events.length, options.signal);
    const answer = events.length === 0 ? Promise.resolve([]) : sendSplitting(options.client, events, retry, hooks);
    // Observed at once so a failure is not an unhandled rejection while earlier batches are awaited.
    answer.catch(() => undefined);
    inFlight.push({ lines, events, sentLines, localRejects, answer });
    while (inFlight.length >= concurrency) await complete(inFlight.shift() as Pending);
  }

  try {
    for await (const line of readLines(file, state.nextOffset, state.nextLine)) {
      options.signal?.throwIfAborted();
      const bytes = line.bytes + 1;
      if (batch.length > 0 && (batch.length >= batchSize || batchBytes + bytes > maxBatchBytes)) await flush();
      batch.push(line);
      batchBytes += bytes;
    }
    await flush();
    while (inFlight.length > 0) await complete(inFlight.shift() as Pending);
    state.done = true;
    state.updatedAt = new Date().toISOString();
    await writeState(statePath, state);
  } finally {
    await rejects.close();
  }
  return { ...state.counts, file, rejectsPath, statePath, startLine, elapsedMs: Date.now() - started };
}

function rejectRecord(line: Line, o: EventOutcome): Record<string, unknown> {
  return {
    line: line.number,
    id: o.id,
    source: o.source,
    code: o.code ?? 'IOC_GATEWAY_VALIDATION',
    reason: (o.problems ?? []).length > 0 ? (o.problems ?? []).map((p) => `${p.path}: ${p.message}`).join('; ') : (o.message ?? o.code ?? 'rejected'),
    problems: o.problems ?? [],
    text: line.text.length > MAX_TEXT_IN_REJECTS ? `${line.text.slice(0, MAX_TEXT_IN_REJECTS)}…` : line.text,
  };
}

async function truncateTo(path: string, bytes: number): Promise<void> {
  try {
    await truncate(path, bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (bytes > 0) throw new PublishStateError(`rejects file ${path} is missing; it held ${bytes} bytes when the state was saved`);
  }
}
