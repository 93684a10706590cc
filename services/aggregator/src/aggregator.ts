/**
 * The aggregator: a member of the consumer group over the events topic that keeps one engine per owned
 * partition, publishes each partition's partials (absolute values) to the compacted partials topic, and
 * checkpoints each partition's state with the input offset it reflects.
 *
 * Exactly-once results without transactions (DESIGN.md "State is a function of the log"):
 *  - a partition always starts from its latest checkpoint (state + offset, taken together), never from the
 *    group's committed offset, which is only moved to what a written checkpoint covers (for lag tooling);
 *  - replayed events that the checkpoint already holds are recognised by (source, id) inside the engine;
 *  - partials are absolute per (input partition, window, scope), so a value re-published after a replay
 *    overwrites the one published before the crash instead of adding to it.
 *
 * All collaborators are injected: the same code runs over Kafka or the in-process bus (`iocbus start`).
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  BusError,
  BusErrorCode,
  type AssignedPartition,
  type BusRecord,
  type EventLog,
  type GroupConsumer,
  type PartitionBatch,
  type PartitionedSource,
  type PartitionStart,
  type RevokeReason,
  type TopicAdmin,
  type TopicPartition,
} from '@iocbus/bus';
import type { Catalog } from '@iocbus/catalog';
import { createPartitionEngine, type PartitionEngine, type RetentionOptions } from '@iocbus/engine';
import { IocError } from '@iocbus/errors';
import type { Logger, Registry } from '@iocbus/telemetry';
import { CheckpointStore } from './checkpoint.js';
import type { AggregatorConfig, FaultPoint } from './config.js';
import { deadLetterRecord } from './dead-letter.js';
import { decodeEvent } from './decode.js';
import { createAggregatorMetrics, type AggregatorMetrics } from './metrics.js';
import { toOffset } from './offsets.js';
import { PartitionWork } from './partition-work.js';
import { topicSpecs } from './topics.js';

/** Compile-time check: the config's retention settings and the engine's are the same keys (none silently ignored). */
type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never] ? true : false;
const retentionKeysMatch: SameKeys<AggregatorConfig['engine']['retention'], RetentionOptions> = true;
void retentionKeysMatch;

export interface FaultInfo {
  partition: number;
  /** The input offset the point concerns (next to apply, or the checkpoint's). */
  offset: string;
  /** Events applied by this instance so far. */
  appliedTotal: number;
}

export interface AggregatorHooks {
  /** Awaited at each fault point; main.ts uses it to stop dead where a kill -9 test wants to land. */
  at?(point: FaultPoint, info: FaultInfo): Promise<void> | void;
}

export interface AggregatorDeps {
  config: AggregatorConfig;
  log: EventLog;
  /**
   * Where checkpoints are appended; default `log`. Over Kafka main.ts gives it a producer of its own: appends
   * through one event log go one at a time, so a checkpoint of several MB (acks=all) would hold back every
   * partials append queued behind it.
   */
  checkpointLog?: EventLog;
  source: PartitionedSource;
  admin: TopicAdmin;
  catalog: Catalog;
  logger: Logger;
  /** The service's own registry; the aggregator registers its series on it. */
  registry: Registry;
  /** Wall clock in ms (engine clock for windows closing and "overdue now", progress times). */
  clock?: () => number;
  hooks?: AggregatorHooks;
}

export interface AggregatorStatus {
  /** Joined, every assigned partition loaded, topics in place. */
  ready: boolean;
  /** The consumer failed (the process should exit and be restarted). */
  failed: IocError | undefined;
  partitions: { partition: number; position: string; lag: string; checkpointOffset: string | null; held: boolean }[];
  appliedTotal: number;
}

export interface Aggregator {
  /** Ensures the topics, joins the group and starts the publish and checkpoint loops. */
  start(): Promise<void>;
  /**
   * Leaves the group cleanly: each partition publishes its final partials, writes a checkpoint and commits
   * it; then the loops stop. The bus is the caller's to close afterwards.
   */
  stop(): Promise<void>;
  status(): AggregatorStatus;
  /** Resolves when the consumer has ended: undefined after stop(), the error after a failure. */
  readonly closed: Promise<IocError | undefined>;
  readonly metrics: AggregatorMetrics;
}

export class AggregatorError extends IocError {}

const DLQ_RETRIES = 5;

export function createAggregator(deps: AggregatorDeps): Aggregator {
  return new AggregatorImpl(deps);
}

class AggregatorImpl implements Aggregator {
  readonly metrics: AggregatorMetrics;
  readonly closed: Promise<IocError | undefined>;
  private readonly cfg: AggregatorConfig;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private readonly checkpoints: CheckpointStore;
  private readonly work = new Map<number, PartitionWork>();
  private consumer: GroupConsumer | undefined;
  private resolveClosed!: (e: IocError | undefined) => void;
  private inputPartitions = 0;
  private loading = 0;
  private appliedTotal = 0;
  private failed: IocError | undefined;
  private running = false;
  private publishTimer: NodeJS.Timeout | undefined;
  /** The pending timer is the idle one (no batch since the last publication): a batch brings it forward. */
  private publishTimerIdle = false;
  private publishing = false;
  /** A batch moved some partition since the last publication started. */
  private publishWanted = false;
  private lastPublishAt = -Infinity;
  /** Checkpoint turns waiting for the publication in flight (or the next one) to end. */
  private publicationWaiters: (() => void)[] = [];
  private checkpointTimer: NodeJS.Timeout | undefined;
  /** Checkpoint turns taken so far (each partition remembers the number of its latest turn). */
  private checkpointTurns = 0;
  /** Publications run one at a time, and never alongside a revocation. */
  private chain: Promise<unknown> = Promise.resolve();
  /**
   * Checkpoint turns run on a chain of their own: a turn writes a whole partition state (megabytes, acks=all)
   * and must not hold publications back; a revocation waits for the turn in flight.
   */
  private checkpointChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: AggregatorDeps) {
    this.cfg = deps.config;
    this.clock = deps.clock ?? Date.now;
    this.logger = deps.logger;
    this.checkpoints = new CheckpointStore({ log: deps.checkpointLog ?? deps.log, source: deps.source, topic: this.cfg.topics.checkpoints, eventsTopic: this.cfg.topics.events });
    this.metrics = createAggregatorMetrics(deps.registry, {
      partitions: () => {
        const now = this.clock();
        return [...this.work.values()].map((w) => ({
          partition: w.partition,
          lag: w.lag,
          checkpointAgeSeconds: Math.max(0, (now - w.checkpointAtMs) / 1000),
          watermarkMs: w.watermarkMs,
        }));
      },
    });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.running) throw new AggregatorError('IOC_AGGREGATOR_STATE', 'aggregator already started');
    this.running = true;
    await this.deps.admin.ensureTopics(topicSpecs(this.cfg));
    this.inputPartitions = await this.deps.admin.partitionCount(this.cfg.topics.events);
    this.consumer = await this.deps.source.joinGroup({
      groupId: this.cfg.kafka.groupId,
      topics: [this.cfg.topics.events],
      onAssigned: (ps) => this.onAssigned(ps),
      onRevoked: (ps, reason) => this.onRevoked(ps, reason),
      onBatch: (b) => this.onBatch(b),
    });
    void this.consumer.closed.then((err) => {
      if (err !== undefined) {
        this.failed = err;
        this.logger.error({ err }, 'consumer failed');
      }
      this.stopLoops();
      this.resolveClosed(err);
    });
    this.armPublish();
    this.scheduleCheckpoint();
    this.logger.info({ groupId: this.cfg.kafka.groupId, topic: this.cfg.topics.events, partitions: this.inputPartitions }, 'aggregator started');
  }

  async stop(): Promise<void> {
    if (this.consumer === undefined) return;
    this.running = false;
    await this.consumer.stop();
    this.stopLoops();
    await this.chain;
    await this.checkpointChain;
  }

  status(): AggregatorStatus {
    const now = this.clock();
    return {
      ready: this.running && this.consumer !== undefined && this.loading === 0 && this.failed === undefined,
      failed: this.failed,
      appliedTotal: this.appliedTotal,
      partitions: [...this.work.values()]
        .sort((a, b) => a.partition - b.partition)
        .map((w) => ({
          partition: w.partition,
          position: String(w.position),
          lag: String(w.lag),
          checkpointOffset: w.checkpointOffset === null ? null : String(w.checkpointOffset),
          held: w.held(now),
        })),
    };
  }

  private stopLoops(): void {
    this.running = false;
    if (this.publishTimer !== undefined) clearTimeout(this.publishTimer);
    if (this.checkpointTimer !== undefined) clearTimeout(this.checkpointTimer);
    this.publishTimer = undefined;
    this.checkpointTimer = undefined;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.chain.then(task);
    this.chain = result.catch(() => undefined);
    return result;
  }

  // ---- assignment ---------------------------------------------------------------------------------

  private newEngine(): PartitionEngine {
    return createPartitionEngine({
      catalog: this.deps.catalog,
      allowedLatenessMs: this.cfg.engine.allowedLatenessMs,
      clock: this.clock,
      initialCapacity: this.cfg.engine.initialCapacity,
      retention: this.cfg.engine.retention,
    });
  }

  private async onAssigned(partitions: readonly AssignedPartition[]): Promise<PartitionStart[]> {
    this.loading++;
    try {
      const starts: PartitionStart[] = [];
      for (const a of partitions) {
        const started = Date.now();
        const { checkpoint, skipped } = await this.loadCheckpoint(a.partition);
        for (const s of skipped) this.logger.error({ partition: a.partition, checkpointOffset: s.offset, err: s.error }, 'checkpoint unreadable, falling back');
        const engine = this.newEngine();
        let position = toOffset(a.lowWatermark);
        if (checkpoint !== null) {
          engine.restore(checkpoint.snapshot);
          engine.advance(this.clock());
          const at = toOffset(checkpoint.offset);
          if (at < position) {
            // Retention deleted events the checkpoint had not seen: they are gone for good; say so loudly.
            this.logger.error({ partition: a.partition, checkpointOffset: checkpoint.offset, lowWatermark: a.lowWatermark }, 'events between checkpoint and log start were deleted');
          } else {
            position = at;
          }
        }
        if (a.committedOffset !== null && toOffset(a.committedOffset) > position) {
          this.logger.warn({ partition: a.partition, committed: a.committedOffset, position }, 'group offset ahead of the checkpoint; replaying from the checkpoint');
        }
        const hw = toOffset(a.highWatermark);
        const now = this.clock();
        const work = new PartitionWork({
          topic: a.topic,
          partition: a.partition,
          engine,
          position,
          holdUntil: hw > position ? hw : 0,
          holdDeadlineMs: now + this.cfg.publish.replayHoldMaxMs,
          checkpoint,
          nowMs: now,
          maxTrackedSources: Math.max(64, this.cfg.publish.maxSources * 4),
        });
        work.highWatermark = hw;
        this.work.set(a.partition, work);
        starts.push({ topic: a.topic, partition: a.partition, start: { offset: String(position) } });
        this.logger.info(
          { partition: a.partition, start: position, checkpoint: checkpoint?.offset ?? null, highWatermark: a.highWatermark, loadMs: Date.now() - started },
          'partition assigned',
        );
      }
      this.metrics.assigned.set(this.work.size);
      return starts;
    } finally {
      this.loading--;
    }
  }

  /** The partition's latest checkpoint, retrying a few times while Kafka is briefly unavailable. */
  private async loadCheckpoint(partition: number): Promise<Awaited<ReturnType<CheckpointStore['latest']>>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.checkpoints.latest(partition);
      } catch (err) {
        if (attempt >= 4 || !(err instanceof IocError && err.retriable)) throw err;
        this.logger.warn({ partition, attempt, err }, 'loading the checkpoint failed; retrying');
        await delay(250 * 2 ** attempt);
      }
    }
  }

  private async onRevoked(partitions: readonly TopicPartition[], reason: RevokeReason): Promise<void> {
    // Out of the map at once, so no publication or checkpoint turn started from now on includes them.
    const leaving: PartitionWork[] = [];
    for (const tp of partitions) {
      const work = this.work.get(tp.partition);
      if (work === undefined) continue;
      this.work.delete(tp.partition);
      leaving.push(work);
    }
    await this.serial(async () => {
      await this.checkpointChain; // the turn in flight may be writing one of them
      for (const work of leaving) {
        if (reason === 'stopping') {
          // Still the owner: the final values go out, then the checkpoint and its commit.
          await this.publishWork([work]).catch((err: unknown) => this.logger.warn({ partition: work.partition, err }, 'final publication failed'));
          await this.checkpointWork(work, true);
        } else if (reason === 'revoked') {
          // Another member may already own it: nothing more is published from here (its new owner republishes
          // every partial once it caught up); a checkpoint only saves the new owner replay time.
          await this.checkpointWork(work, false);
        }
        this.logger.info({ partition: work.partition, reason, position: work.position }, 'partition released');
      }
      this.metrics.assigned.set(this.work.size);
    });
  }

  // ---- consuming ----------------------------------------------------------------------------------

  private async onBatch(batch: PartitionBatch): Promise<void> {
    const work = this.work.get(batch.partition);
    if (work === undefined) throw new AggregatorError('IOC_AGGREGATOR_STATE', `batch for partition ${batch.partition}, which was never announced`);
    const started = process.hrtime.bigint();
    const records = batch.records;
    const every = this.cfg.checkpoint.heartbeatEveryRecords;
    const lateness = this.cfg.engine.allowedLatenessMs;
    const mid = records.length >= 2 && this.deps.hooks?.at !== undefined ? records.length >> 1 : -1;
    const now = this.clock();
    work.engine.advance(now);
    let applied = 0;
    let duplicates = 0;
    let late = 0;
    try {
      for (let i = 0; i < records.length; i++) {
        if (i > 0 && i % every === 0) {
          await batch.heartbeat();
          if (batch.isStale()) return;
        }
        if (i === mid) await this.deps.hooks!.at!('mid-batch', { partition: work.partition, offset: String(work.position), appliedTotal: this.appliedTotal + applied });
        const record = records[i]!;
        const offset = toOffset(record.offset);
        if (offset < work.position) continue; // delivered again after a seek: already in the state
        let event;
        try {
          event = decodeEvent(record);
        } catch (err) {
          await this.deadLetter(record, err);
          work.skip(offset);
          continue;
        }
        let r;
        try {
          r = work.apply(event, offset, now, lateness);
        } catch (err) {
          // A bug in the engine must not stall every other event behind this one.
          this.logger.error({ partition: record.partition, offset: record.offset, err }, 'event could not be applied');
          await this.deadLetter(record, new AggregatorError('IOC_AGGREGATOR_APPLY_FAILED', err instanceof Error ? err.message : String(err), { cause: err }));
          work.skip(offset);
          continue;
        }
        if (r.applied) applied++;
        else duplicates++;
        if (r.late) late++;
      }
    } finally {
      this.appliedTotal += applied;
      if (applied > 0) this.metrics.events.inc({ outcome: 'applied' }, applied);
      if (duplicates > 0) this.metrics.events.inc({ outcome: 'duplicate' }, duplicates);
      if (late > 0) this.metrics.lateEvents.inc(late);
      if (records.length > 0) this.requestPublish();
      const hw = toOffset(batch.highWatermark);
      if (hw > work.highWatermark) work.highWatermark = hw;
      this.metrics.batchDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.metrics.batchRecords.observe(records.length);
    }
  }

  private async deadLetter(record: PartitionBatch['records'][number], err: unknown): Promise<void> {
    const dl = deadLetterRecord(record, err, this.cfg.kafka.groupId, this.clock());
    const code = dl.headers['iocbus-dlq-error-code'] ?? 'unknown';
    for (let attempt = 0; ; attempt++) {
      try {
        // Awaited before moving past the record, so a checkpoint never covers a dead letter not yet written.
        await this.deps.log.append(this.cfg.topics.deadLetters, [dl]);
        break;
      } catch (appendErr) {
        if (attempt >= DLQ_RETRIES || !(appendErr instanceof IocError && appendErr.retriable)) throw appendErr;
        await delay(200 * 2 ** attempt);
      }
    }
    this.metrics.deadLetters.inc({ code });
    this.metrics.events.inc({ outcome: 'dead_lettered' });
    this.logger.warn({ partition: record.partition, offset: record.offset, code }, 'record dead-lettered');
  }

  // ---- publishing ---------------------------------------------------------------------------------

  /*
   * When partials go out: as soon as a batch was applied, but at most once per publish.intervalMs (the first
   * batch after a quiet spell is published at once; under steady load each change waits at most the interval,
   * and the changes of the batches in between coalesce). Without batches, a publication every
   * publish.idleIntervalMs carries what time alone changes (windows closing, retention, overdue dossiers) and
   * the progress heartbeat, so an idle aggregator wakes rarely.
   */

  /** A batch moved a partition: publish now, or when the interval since the last publication has passed. */
  private requestPublish(): void {
    if (this.publishWanted) return;
    this.publishWanted = true;
    if (this.publishTimer !== undefined && this.publishTimerIdle) {
      clearTimeout(this.publishTimer);
      this.publishTimer = undefined;
    }
    this.armPublish();
  }

  private armPublish(): void {
    if (!this.running || this.publishing || this.publishTimer !== undefined) return;
    this.publishTimerIdle = !this.publishWanted;
    const wait = this.publishWanted ? this.lastPublishAt + this.cfg.publish.intervalMs - performance.now() : Math.min(this.cfg.publish.idleIntervalMs, this.cfg.publish.heartbeatMs);
    this.publishTimer = setTimeout(() => this.runPublish(), Math.max(0, wait));
  }

  private runPublish(): void {
    this.publishTimer = undefined;
    this.publishWanted = false;
    this.publishing = true;
    this.lastPublishAt = performance.now();
    void this.serial(() => this.publishWork([...this.work.values()]))
      .catch((err: unknown) => {
        this.metrics.publishFailures.inc();
        this.publishWanted = true; // retried after the interval
        this.logger.warn({ err }, 'publishing partials failed; will retry');
      })
      .finally(() => {
        this.publishing = false;
        const waiters = this.publicationWaiters;
        this.publicationWaiters = [];
        for (const wake of waiters) wake();
        this.armPublish();
      });
  }

  private async publishWork(works: readonly PartitionWork[]): Promise<void> {
    const now = this.clock();
    const batch: BusRecord[] = [];
    const included: PartitionWork[] = [];
    for (const w of works) {
      if (w.held(now)) continue;
      w.engine.advance(now);
      const records = w.collect(now, this.inputPartitions, this.cfg.publish.maxSources, this.cfg.publish.heartbeatMs);
      if (records.length === 0) continue;
      included.push(w);
      for (const r of records) batch.push(r);
    }
    if (batch.length === 0) return;
    const started = process.hrtime.bigint();
    try {
      const max = this.cfg.publish.maxRecordsPerAppend;
      for (let i = 0; i < batch.length; i += max) await this.deps.log.append(this.cfg.topics.partials, batch.slice(i, i + max));
    } catch (err) {
      for (const w of included) w.progressFailed();
      throw err;
    }
    this.metrics.publishDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.partialsPublished.inc(batch.length);
  }

  // ---- checkpoints --------------------------------------------------------------------------------

  /*
   * Checkpoints are staggered: one partition per turn, a turn every checkpoint.intervalMs / (owned partitions),
   * partitions in rotation, so each one is still checkpointed about every intervalMs. Taking a snapshot blocks
   * the event loop (the engine serialises a whole partition state synchronously); spread out, batches and
   * publications run between two snapshots instead of waiting behind all of them at once.
   */
  private scheduleCheckpoint(delayMs = this.checkpointTurnMs()): void {
    if (!this.running) return;
    this.checkpointTimer = setTimeout(() => {
      const startedAt = performance.now();
      const turn = this.checkpointChain.then(() => this.checkpointTurn());
      this.checkpointChain = turn.catch((err: unknown) => this.logger.warn({ err }, 'checkpoint failed'));
      // The next turn is due a turn after this one started (a slow write does not stretch the rotation).
      void this.checkpointChain.finally(() => this.scheduleCheckpoint(Math.max(0, this.checkpointTurnMs() - (performance.now() - startedAt))));
    }, delayMs);
  }

  private checkpointTurnMs(): number {
    return this.cfg.checkpoint.intervalMs / Math.max(1, this.work.size);
  }

  /** The partition whose turn it is (the one longest without a turn) writes its checkpoint, if it moved. */
  private async checkpointTurn(): Promise<void> {
    let next: PartitionWork | undefined;
    for (const w of this.work.values()) if (next === undefined || w.checkpointTurn < next.checkpointTurn) next = w;
    if (next === undefined) return;
    // Rotation by turns taken, not by success: a partition whose writes keep failing does not starve the others.
    next.checkpointTurn = ++this.checkpointTurns;
    if (next.checkpointOffset === next.position) {
      next.checkpointAtMs = this.clock(); // nothing new: the checkpoint on file is current
      return;
    }
    await this.afterPublication();
    if (this.work.get(next.partition) !== next) return; // revoked meanwhile: onRevoked writes its last one
    await this.checkpointWork(next, true, true);
  }

  /**
   * Resolves when the publication in flight or due has ended (at once when none is wanted). Right after a
   * publication the next one is furthest off: a block of the event loop then (a snapshot, a checkpoint's
   * encoding) holds back no publication that is due, as long as it is shorter than publish.intervalMs (batches
   * arriving meanwhile wait for the interval anyway). Bounded, so a turn never waits on a publication that is
   * itself waiting (behind a revocation).
   */
  private async afterPublication(): Promise<void> {
    if (!this.publishing && !this.publishWanted) return;
    const timeout = new AbortController();
    await Promise.race([
      new Promise<void>((wake) => this.publicationWaiters.push(wake)),
      delay(2 * this.cfg.publish.intervalMs, undefined, { signal: timeout.signal }).catch(() => undefined),
    ]);
    timeout.abort();
  }

  /**
   * Writes the partition's checkpoint and, when `commit`, moves the group offset to it (never past it).
   * `spread`: the append (the producer encodes a record of megabytes synchronously, CRC included) waits for
   * a publication after the snapshot, so the two blocks of the event loop do not add up in front of one.
   * The checkpoint's state and offset are fixed when it is taken; waiting only delays the write and commit.
   */
  private async checkpointWork(w: PartitionWork, commit: boolean, spread = false): Promise<void> {
    if (w.checkpointOffset === w.position) return;
    const now = this.clock();
    const snapshotStarted = process.hrtime.bigint();
    const checkpoint = w.checkpoint(now);
    this.metrics.checkpointSnapshotDuration.observe(Number(process.hrtime.bigint() - snapshotStarted) / 1e9);
    const info = { partition: w.partition, offset: checkpoint.offset, appliedTotal: this.appliedTotal };
    try {
      const record = this.checkpoints.record(checkpoint);
      if (spread) await this.afterPublication();
      await this.checkpoints.append(record);
      this.metrics.checkpoints.inc();
      this.metrics.checkpointBytes.observe(record.value.length);
    } catch (err) {
      this.metrics.checkpointFailures.inc();
      this.logger.warn({ partition: w.partition, err }, 'checkpoint write failed; will retry');
      return;
    }
    w.checkpointOffset = toOffset(checkpoint.offset);
    w.checkpointAtMs = now;
    await this.deps.hooks?.at?.('mid-checkpoint', info);
    if (commit && this.consumer !== undefined) {
      try {
        await this.consumer.commit([{ topic: w.topic, partition: w.partition, offset: checkpoint.offset }]);
      } catch (err) {
        // The checkpoint is what restarts read; a lost commit only leaves lag tooling behind.
        const expected = err instanceof BusError && (err.code === BusErrorCode.NotAssigned || err.code === BusErrorCode.CommitRejected);
        if (!expected) this.metrics.checkpointFailures.inc();
        this.logger[expected ? 'debug' : 'warn']({ partition: w.partition, err }, 'offset commit failed');
      }
    }
    await this.deps.hooks?.at?.('after-checkpoint', info);
  }
}
