import type { IocError } from '@iocbus/errors';
import type { Admin, Consumer, ConsumerCrashEvent, ConsumerGroupJoinEvent, Kafka } from 'kafkajs';
import { BusError, BusErrorCode, closedError, handlerFailed } from '../errors.js';
import { MemberLifecycle } from '../group-lifecycle.js';
import type { BusLogger } from '../logger.js';
import type {
  AssignedPartition,
  CommitOffset,
  GroupConsumer,
  GroupConsumerOptions,
  PartitionBatch,
  TopicPartition,
} from '../ports.js';
import { deferred, keyOf, parseOffset, SerialQueue, type Deferred } from '../util.js';
import { mapKafkaError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { KafkaReader } from './reader.js';
import { recordChunks, type FetchedPartition, type RecordChunk } from './fetch-protocol.js';
import { roundRobinWithJoinHooks, type InternalConsumerGroup } from './internals.js';
import { PartitionFetcher } from './partition-fetcher.js';
import { retrying } from './retry.js';

/**
 * A fetched partition is decoded and handed to onBatch in pieces of whole record batches, each ending with
 * the batch that brings it to this many records (recordChunks), rather than all at once: catch-up over
 * 4 MiB fetches (the aggregator's), GC µs per event whole vs pieces of 1,000: 0.91/0.62, 0.91/0.56.
 */
const DELIVERY_RECORDS = 1000;

const REBALANCE_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * A group member that never commits on its own, lets the caller choose each new partition's start,
 * and fetches its partitions itself (PartitionFetcher: the bus's own Fetch and record decoding).
 * kafkajs keeps the membership (join, sync, heartbeats, commits) but fetches nothing: every
 * subscribed topic stays paused in it. kafkajs has no rebalance listener, so:
 *  - GROUP_JOIN (emitted synchronously after SyncGroup) records the assignment; partitions kept
 *    continue where this member's fetcher got to; new ones are announced (onAssigned) and then
 *    fetched from the chosen start;
 *  - revocation is the difference between consecutive assignments; a changed member id or a
 *    crash means the membership was lost;
 *  - a (re)join waits for the batch being handled, as a poll loop would (internals.ts hooks it);
 *  - a heartbeat that meets a rebalance makes the batches in flight stale.
 */
export class KafkaGroupConsumer implements GroupConsumer {
  readonly closed: Promise<IocError | undefined>;
  private readonly consumer: Consumer;
  private readonly lifecycle: MemberLifecycle;
  private readonly lifecycleQueue = new SerialQueue();
  private readonly closedSignal = deferred<IocError | undefined>();
  private memberId: string | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly fetcher: PartitionFetcher;
  /** kafkajs's group state, known from its first join on; its heartbeat is the member's. */
  private group: InternalConsumerGroup | null = null;
  /** Set while kafkajs (re)joins: no batch starts until it is done. */
  private joining: Deferred<void> | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private left = false;
  private failure: IocError | undefined;

  constructor(
    kafka: Kafka,
    private readonly admin: { client: Admin; ready(): Promise<void> },
    private readonly reader: KafkaReader,
    private readonly options: GroupConsumerOptions,
    private readonly settings: ResolvedOptions,
    private readonly log: BusLogger,
  ) {
    this.closed = this.closedSignal.promise;
    const c = settings.consumer;
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: c.sessionTimeoutMs,
      rebalanceTimeout: c.rebalanceTimeoutMs,
      heartbeatInterval: c.heartbeatIntervalMs,
      // kafkajs fetches nothing (all paused): this only paces its heartbeat loop.
      maxWaitTimeInMs: c.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      partitionAssigners: [
        roundRobinWithJoinHooks({ beforeJoin: (group) => this.beforeJoin(group), afterJoin: () => this.afterJoin() }) as never,
      ],
      retry: {
        retries: settings.retry.retries,
        initialRetryTime: settings.retry.initialRetryTimeMs,
        maxRetryTime: settings.retry.maxRetryTimeMs,
        // kafkajs restarts the member after retriable failures (broker restarts); not once we stop.
        restartOnFailure: async () => !this.stopping,
      },
    });
    this.lifecycle = new MemberLifecycle(
      options,
      { describe: (partitions) => this.describe(partitions), activate: (tp, offset) => this.activate(tp, offset) },
      options.noCommittedOffset ?? 'earliest',
      log,
    );
    this.fetcher = new PartitionFetcher(
      reader,
      settings,
      log,
      (fetched) => this.deliver(fetched),
      (error) => this.fail(error),
    );
    const { GROUP_JOIN, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (event: ConsumerGroupJoinEvent) => this.onGroupJoin(event.payload));
    this.consumer.on(CRASH, (event: ConsumerCrashEvent) => this.onCrash(event.payload));
  }

  get groupId(): string {
    return this.options.groupId;
  }

  async start(): Promise<void> {
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        // Never called: every partition stays paused in kafkajs; the fetcher delivers.
        eachBatch: async () => {},
      });
      this.fetcher.start();
    } catch (err) {
      await this.consumer.disconnect().catch(() => undefined);
      throw mapKafkaError(err, `join group ${this.groupId}`);
    }
  }

  assignment(): TopicPartition[] {
    return this.lifecycle.active().map((a) => ({ ...a.tp }));
  }

  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (this.left) throw closedError(`consumer of group ${this.groupId}`);
    if (offsets.length === 0) return;
    for (const o of offsets) parseOffset(o.offset);
    const foreign = offsets.filter((o) => !this.lifecycle.isActive(o));
    if (foreign.length > 0) {
      throw new BusError(BusErrorCode.NotAssigned, `member does not own ${foreign.map((o) => `${o.topic}[${o.partition}]`).join(', ')}`);
    }
    try {
      await this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
    } catch (err) {
      throw mapKafkaError(err, `commit for group ${this.groupId}`);
    }
  }

  stop(): Promise<void> {
    if (this.stopped === null) this.stopped = this.shutdown();
    return this.stopped;
  }

  // --- kafkajs events ------------------------------------------------------------------------

  private onGroupJoin(payload: ConsumerGroupJoinEvent['payload']): void {
    const partitions = Object.entries(payload.memberAssignment).flatMap(([topic, ps]) =>
      ps.map((partition) => ({ topic, partition })),
    );
    const lost = this.memberId !== null && this.memberId !== payload.memberId;
    this.memberId = payload.memberId;
    const { retained, fresh } = this.lifecycle.assign(partitions, lost);
    this.log.info(
      { groupId: this.groupId, memberId: payload.memberId, partitions: partitions.length, fresh: fresh.length, lost },
      'group joined',
    );
    // Before kafkajs's first fetch of this generation (the pause holds across generations, not restarts).
    this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
    // Retained partitions continue where the fetcher got to; fresh ones wait for onAssigned.
    this.fetcher.retainOnly(new Set(retained.map(({ tp }) => keyOf(tp))));
    this.reconcile();
  }

  private onCrash(payload: ConsumerCrashEvent['payload']): void {
    this.memberId = null;
    this.group = null;
    this.fetcher.retainOnly(new Set());
    this.lifecycle.loseAll();
    this.reconcile();
    if (!payload.restart) this.fail(mapKafkaError(payload.error, `consumer of group ${this.groupId}`));
  }

  // --- delivery -------------------------------------------------------------------------------

  private async beforeJoin(group: InternalConsumerGroup): Promise<void> {
    this.group = group;
    this.joining ??= deferred<void>();
    if (this.inFlight !== null) await this.inFlight;
  }

  private afterJoin(): void {
    this.joining?.resolve();
    this.joining = null;
  }

  private async deliver(fetched: FetchedPartition): Promise<void> {
    const tp = { topic: fetched.topic, partition: fetched.partition };
    const chunks = recordChunks(fetched, DELIVERY_RECORDS);
    for (;;) {
      while (this.joining !== null && !this.stopping) await this.joining.promise;
      if (this.stopping) return;
      // Revoked or lost since it was fetched: stop fetching it until it is announced again.
      if (!this.lifecycle.isActive(tp)) {
        this.fetcher.remove(tp);
        return;
      }
      let chunk;
      try {
        const step = chunks.next();
        if (step.done === true) return;
        chunk = step.value;
      } catch (err) {
        this.fail(mapKafkaError(err, `fetch ${tp.topic}[${tp.partition}]`));
        return;
      }
      // Only control batches or aborted transactions: nothing to hand out.
      if (chunk.records.length === 0) continue;
      if (!(await this.handOut(tp, fetched, chunk))) return;
    }
  }

  /** One piece of a fetched partition to onBatch; false when the handler failed or the partition was abandoned meanwhile. */
  private async handOut(tp: TopicPartition, fetched: FetchedPartition, chunk: RecordChunk): Promise<boolean> {
    const guard = this.lifecycle.guard(tp);
    const delivered: PartitionBatch = {
      topic: tp.topic,
      partition: tp.partition,
      records: chunk.records,
      highWatermark: fetched.highWatermark,
      heartbeat: () => this.heartbeat(),
      isStale: guard.isStale,
    };
    let kept = false;
    const run = (async () => {
      try {
        await this.options.onBatch(delivered);
      } catch (err) {
        this.fail(handlerFailed('onBatch', err));
        return;
      }
      kept = this.lifecycle.completed(tp, guard, chunk.next);
      // Abandoned: fetch nothing more of it until it is announced again.
      if (!kept) this.fetcher.remove(tp);
    })();
    this.inFlight = run;
    try {
      await run;
    } finally {
      this.inFlight = null;
    }
    return kept;
  }

  private async heartbeat(): Promise<void> {
    const group = this.group;
    if (group === null) return;
    try {
      await group.heartbeat({ interval: this.settings.consumer.heartbeatIntervalMs });
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type !== undefined && REBALANCE_TYPES.has(type)) {
        this.lifecycle.rebalancing();
        return;
      }
      this.log.warn({ groupId: this.groupId, err: mapKafkaError(err, 'heartbeat') }, 'heartbeat failed');
    }
  }

  // --- assignment -----------------------------------------------------------------------------

  private reconcile(): void {
    void this.lifecycleQueue
      .run(async () => {
        // onRevoked never overlaps a batch of the partitions it names (a crash can come mid-batch).
        if (this.inFlight !== null) await this.inFlight;
        await this.lifecycle.reconcile();
      })
      .catch((err: unknown) => this.fail(err instanceof BusError && err.code !== BusErrorCode.HandlerFailed ? err : handlerFailed('partition assignment callback', err)));
  }

  private async describe(partitions: readonly TopicPartition[]): Promise<AssignedPartition[]> {
    const out: AssignedPartition[] = [];
    for (const [topic, ps] of groupByTopic(partitions)) {
      // Both retried: right after a topic is created, its partitions may still lack a leader.
      const what = `offsets of ${topic} for group ${this.groupId}`;
      const [committed, bounds] = await Promise.all([
        retrying(
          what,
          async () => {
            await this.admin.ready();
            return this.admin.client.fetchOffsets({ groupId: this.groupId, topics: [topic] });
          },
          this.settings.retry,
          async () => {},
          () => this.stopping,
        ),
        this.reader.withRetries(what, async () => {
          await this.reader.prepare(topic);
          return this.reader.bounds(topic, ps);
        }),
      ]);
      const committedOf = new Map(committed[0]?.partitions.map((p) => [p.partition, p.offset]));
      const boundsOf = new Map(bounds.map((b) => [b.partition, b]));
      for (const partition of ps) {
        const c = committedOf.get(partition);
        const b = boundsOf.get(partition)!;
        out.push({
          topic,
          partition,
          committedOffset: c === undefined || BigInt(c) < 0n ? null : c,
          lowWatermark: b.low,
          highWatermark: b.high,
        });
      }
    }
    return out;
  }

  private activate(tp: TopicPartition, offset: bigint): void {
    this.fetcher.set(tp, offset);
  }

  // --- stopping -------------------------------------------------------------------------------

  private fail(error: IocError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.log.error({ groupId: this.groupId, err: error }, 'consumer failed, stopping');
    void this.stop();
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.lifecycle.stop();
    this.joining?.resolve();
    const fetching = this.fetcher.stop();
    if (this.inFlight !== null) await this.inFlight;
    await this.lifecycleQueue.idle();
    try {
      // Still a member here, so onRevoked may commit.
      await this.lifecycle.revokeAll(this.failure === undefined ? 'stopping' : 'lost');
    } catch (err) {
      this.failure ??= handlerFailed('onRevoked', err);
    }
    this.left = true;
    try {
      await this.consumer.disconnect();
    } catch (err) {
      this.log.warn({ groupId: this.groupId, err: mapKafkaError(err, 'leave group') }, 'leaving the group failed');
    }
    await fetching;
    // The reader is this member's own (bus.ts): nothing else uses its connections.
    await this.reader.close().catch((err: unknown) => this.log.debug({ err }, 'closing the member reader failed'));
    this.closedSignal.resolve(this.failure);
  }
}

function groupByTopic(partitions: readonly TopicPartition[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = out.get(topic);
    if (list === undefined) out.set(topic, [partition]);
    else list.push(partition);
  }
  return out;
}
