import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { IocError } from '@iocbus/errors';
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
import { deferred, keyOf, parseOffset, SerialQueue } from '../util.js';
import type { InProcessBroker } from './broker.js';
import type { GroupMember, InProcessGroup } from './group.js';

export interface InProcessConsumerSettings {
  maxBatchRecords: number;
  logger: BusLogger;
}

/**
 * One member of an in-process group. A single loop reconciles assignment changes, then delivers
 * one batch at a time, yielding to the event loop between batches so the rest of the process
 * (HTTP, timers) keeps running while it catches up.
 */
export class InProcessGroupConsumer implements GroupConsumer, GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  readonly closed: Promise<IocError | undefined>;
  private readonly lifecycle: MemberLifecycle;
  private readonly lifecycleQueue = new SerialQueue();
  private readonly closedSignal = deferred<IocError | undefined>();
  private wake = deferred<void>();
  private changed = false;
  private inFlight: Promise<void> | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private failure: IocError | undefined;
  private left = false;
  private loopDone: Promise<void> = Promise.resolve();
  private nextIndex = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly broker: InProcessBroker,
    private readonly group: InProcessGroup,
    private readonly options: GroupConsumerOptions,
    private readonly settings: InProcessConsumerSettings,
  ) {
    this.memberId = group.newMemberId();
    this.topics = [...options.topics];
    this.closed = this.closedSignal.promise;
    this.lifecycle = new MemberLifecycle(
      options,
      {
        describe: async (partitions) => partitions.map((tp) => this.describe(tp)),
        activate: () => this.poke(),
      },
      options.noCommittedOffset ?? 'earliest',
      settings.logger,
    );
    this.unsubscribe = broker.onAppend(this.topics, () => this.poke());
  }

  get groupId(): string {
    return this.group.groupId;
  }

  async start(): Promise<void> {
    for (const topic of this.topics) this.broker.partitionCount(topic);
    this.loopDone = this.loop();
    await this.group.join(this);
  }

  assignment(): TopicPartition[] {
    return this.lifecycle.active().map((a) => ({ ...a.tp }));
  }

  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (this.left) throw closedError(`consumer of group ${this.groupId}`);
    for (const o of offsets) parseOffset(o.offset);
    const foreign = offsets.filter((o) => !this.lifecycle.isActive(o));
    if (foreign.length > 0) {
      throw new BusError(
        BusErrorCode.NotAssigned,
        `member does not own ${foreign.map((o) => `${o.topic}[${o.partition}]`).join(', ')}`,
      );
    }
    for (const o of offsets) this.group.committed.set(keyOf(o), o.offset);
  }

  stop(): Promise<void> {
    if (this.stopped === null) this.stopped = this.shutdown();
    return this.stopped;
  }

  // --- GroupMember -------------------------------------------------------------------------

  async quiesce(): Promise<void> {
    this.lifecycle.rebalancing();
    if (this.inFlight !== null) await this.inFlight;
  }

  assign(partitions: readonly TopicPartition[]): void {
    this.lifecycle.assign(partitions, false);
    this.changed = true;
    this.poke();
  }

  // --- internals ---------------------------------------------------------------------------

  private describe(tp: TopicPartition): AssignedPartition {
    const { low, high } = this.broker.offsets(tp.topic, tp.partition);
    return {
      ...tp,
      committedOffset: this.group.committed.get(keyOf(tp)) ?? null,
      lowWatermark: String(low),
      highWatermark: String(high),
    };
  }

  private poke(): void {
    this.wake.resolve();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.changed) {
        this.changed = false;
        try {
          await this.lifecycleQueue.run(() => this.lifecycle.reconcile());
        } catch (err) {
          this.fail(handlerFailed('partition assignment callback', err));
          return;
        }
        continue;
      }
      const batch = this.nextBatch();
      if (batch === null) {
        await this.wake.promise;
        this.wake = deferred();
        continue;
      }
      this.inFlight = this.deliver(batch);
      await this.inFlight;
      this.inFlight = null;
      await yieldToEventLoop();
    }
  }

  private nextBatch(): (PartitionBatch & { last: bigint }) | null {
    const active = this.lifecycle.active();
    for (let i = 0; i < active.length; i++) {
      const a = active[(this.nextIndex + i) % active.length]!;
      const records = this.broker.read(a.tp.topic, a.tp.partition, Number(a.position), this.settings.maxBatchRecords);
      if (records.length === 0) continue;
      this.nextIndex = (this.nextIndex + i + 1) % active.length;
      const guard = this.lifecycle.guard(a.tp);
      return {
        topic: a.tp.topic,
        partition: a.tp.partition,
        records,
        highWatermark: String(this.broker.offsets(a.tp.topic, a.tp.partition).high),
        heartbeat: async () => {},
        isStale: () => guard.isStale(),
        last: BigInt(records[records.length - 1]!.offset),
      };
    }
    return null;
  }

  private async deliver(batch: PartitionBatch & { last: bigint }): Promise<void> {
    const guard = { isStale: batch.isStale };
    const { last, ...visible } = batch;
    try {
      await this.options.onBatch(visible);
    } catch (err) {
      this.fail(handlerFailed('onBatch', err));
      return;
    }
    this.lifecycle.completed(batch, guard, last + 1n);
  }

  private fail(error: IocError): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.settings.logger.error({ groupId: this.groupId, err: error }, 'consumer failed, stopping');
    void this.stop();
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    this.lifecycle.stop();
    this.poke();
    this.unsubscribe();
    await this.loopDone;
    await this.lifecycleQueue.idle();
    try {
      await this.lifecycle.revokeAll(this.failure === undefined ? 'stopping' : 'lost');
    } catch (err) {
      this.failure ??= handlerFailed('onRevoked', err);
    }
    this.left = true;
    await this.group.leave(this);
    this.closedSignal.resolve(this.failure);
  }
}
