import type { BusLogger } from './logger.js';
import type { AssignedPartition, GroupHandlers, PartitionStart, StartPosition, TopicPartition } from './ports.js';
import { byPartition, keyOf, parseOffset } from './util.js';

interface Owned {
  tp: TopicPartition;
  epoch: number;
}

interface Announced extends Owned {
  /** Next offset to deliver. */
  position: bigint;
}

/** What a lifecycle needs from its adapter. */
export interface LifecycleAdapter {
  /** Committed offsets and watermarks of partitions about to be announced. */
  describe(partitions: readonly TopicPartition[]): Promise<AssignedPartition[]>;
  /** Start delivering `tp` from `offset` (Kafka: seek, then resume). */
  activate(tp: TopicPartition, offset: bigint): void;
}

export interface BatchGuard {
  isStale(): boolean;
}

/**
 * The member-side bookkeeping both adapters share, so their callbacks follow one protocol:
 * which partitions the group gave this member (`owned`, each with an epoch that changes whenever
 * ownership is interrupted) and which of them the caller has been told about (`announced`).
 * `reconcile()` closes the gap with onRevoked/onAssigned, so the calls for one partition always
 * alternate, and a batch is stale as soon as its partition's epoch moves on.
 */
export class MemberLifecycle {
  private readonly owned = new Map<string, Owned>();
  private readonly announced = new Map<string, Announced>();
  /** Owned partitions whose last batch was abandoned: announced again on the next assignment. */
  private readonly interrupted = new Set<string>();
  /** Announced partitions whose ownership ended with the membership itself. */
  private readonly lost = new Set<string>();
  private epochs = 0;
  private fence = 0;
  private stopping = false;

  constructor(
    private readonly handlers: GroupHandlers,
    private readonly adapter: LifecycleAdapter,
    private readonly noCommittedOffset: 'earliest' | 'latest',
    private readonly log: BusLogger,
  ) {}

  /**
   * Records a new generation's assignment (synchronously, before anything is fetched for it).
   * `membershipLost`: the previous membership ended, so nothing carries over.
   * Returns the partitions that carry over with their positions, and the fresh ones (to hold back
   * until announced).
   */
  assign(
    partitions: readonly TopicPartition[],
    membershipLost: boolean,
  ): { retained: Array<{ tp: TopicPartition; position: bigint }>; fresh: TopicPartition[] } {
    const next = new Map<string, Owned>();
    const retained: Array<{ tp: TopicPartition; position: bigint }> = [];
    const fresh: TopicPartition[] = [];
    for (const tp of partitions) {
      const key = keyOf(tp);
      const prev = this.owned.get(key);
      const announced = this.announced.get(key);
      const carries = !membershipLost && prev !== undefined && !this.interrupted.has(key);
      next.set(key, { tp: { topic: tp.topic, partition: tp.partition }, epoch: carries ? prev.epoch : ++this.epochs });
      if (carries && announced !== undefined && announced.epoch === prev.epoch) {
        retained.push({ tp, position: announced.position });
      } else {
        fresh.push(tp);
      }
    }
    if (membershipLost) for (const key of this.announced.keys()) this.lost.add(key);
    this.owned.clear();
    for (const [key, owned] of next) this.owned.set(key, owned);
    this.interrupted.clear();
    return { retained, fresh };
  }

  /** The membership ended (or is ending) without a new assignment yet. */
  loseAll(): void {
    this.assign([], true);
  }

  /** A rebalance has begun: every batch in flight is stale. */
  rebalancing(): void {
    this.fence++;
  }

  /** Every batch in flight is stale and no new partition is announced. */
  stop(): void {
    this.stopping = true;
  }

  isActive(tp: TopicPartition): boolean {
    const key = keyOf(tp);
    const announced = this.announced.get(key);
    return announced !== undefined && this.owned.get(key)?.epoch === announced.epoch;
  }

  /** Announced and still owned: commit allowed, batches delivered. */
  active(): Announced[] {
    return [...this.announced.values()].filter((a) => this.owned.get(keyOf(a.tp))?.epoch === a.epoch);
  }

  position(tp: TopicPartition): bigint | undefined {
    return this.isActive(tp) ? this.announced.get(keyOf(tp))!.position : undefined;
  }

  guard(tp: TopicPartition): BatchGuard {
    const key = keyOf(tp);
    const fence = this.fence;
    const epoch = this.announced.get(key)?.epoch;
    return {
      isStale: () =>
        this.stopping || this.fence !== fence || this.owned.get(key)?.epoch !== epoch || this.announced.get(key)?.epoch !== epoch,
    };
  }

  /** After a batch returned: advances the position, or marks the partition for re-announcement. */
  completed(tp: TopicPartition, guard: BatchGuard, nextOffset: bigint): boolean {
    const key = keyOf(tp);
    if (guard.isStale()) {
      if (this.owned.has(key)) this.interrupted.add(key);
      return false;
    }
    this.announced.get(key)!.position = nextOffset;
    return true;
  }

  /** Tells the caller about every change since the last call. Run one at a time. */
  async reconcile(): Promise<void> {
    const gone = [...this.announced.entries()].filter(([key, a]) => this.owned.get(key)?.epoch !== a.epoch);
    if (gone.length > 0) {
      for (const [key] of gone) this.announced.delete(key);
      const lost = gone.filter(([key]) => this.lost.has(key)).map(([, a]) => a.tp);
      const revoked = gone.filter(([key]) => !this.lost.has(key)).map(([, a]) => a.tp);
      for (const [key] of gone) this.lost.delete(key);
      if (revoked.length > 0) await this.handlers.onRevoked(revoked.sort(byPartition), 'revoked');
      if (lost.length > 0) await this.handlers.onRevoked(lost.sort(byPartition), 'lost');
    }
    if (this.stopping) return;
    const fresh = [...this.owned.entries()]
      .filter(([key, o]) => this.announced.get(key)?.epoch !== o.epoch)
      .map(([, o]) => o)
      .sort((a, b) => byPartition(a.tp, b.tp));
    if (fresh.length === 0) return;
    const described = await this.adapter.describe(fresh.map((o) => o.tp));
    const starts = (await this.handlers.onAssigned(described)) ?? [];
    const startOf = new Map<string, PartitionStart>(starts.map((s) => [keyOf(s), s]));
    for (const o of fresh) {
      const key = keyOf(o.tp);
      const info = described.find((d) => keyOf(d) === key)!;
      const position = this.resolveStart(info, startOf.get(key)?.start ?? 'committed');
      // Announced even if ownership moved meanwhile: the next reconcile then revokes it, keeping calls paired.
      this.announced.set(key, { ...o, position });
      if (this.owned.get(key)?.epoch === o.epoch) this.adapter.activate(o.tp, position);
    }
  }

  /** Hands every announced partition back (stop, failure) and forgets them. */
  async revokeAll(reason: 'stopping' | 'lost'): Promise<void> {
    const all = [...this.announced.values()].map((a) => a.tp).sort(byPartition);
    if (all.length === 0) return;
    try {
      await this.handlers.onRevoked(all, reason);
    } finally {
      this.announced.clear();
    }
  }

  private resolveStart(info: AssignedPartition, start: StartPosition): bigint {
    const low = BigInt(info.lowWatermark);
    const high = BigInt(info.highWatermark);
    let wanted: bigint;
    if (start === 'earliest') wanted = low;
    else if (start === 'latest') wanted = high;
    else if (start === 'committed') {
      wanted = info.committedOffset !== null ? BigInt(info.committedOffset) : this.noCommittedOffset === 'earliest' ? low : high;
    } else wanted = parseOffset(start.offset);
    const clamped = wanted < low ? low : wanted > high ? high : wanted;
    if (clamped !== wanted) {
      this.log.warn(
        { topic: info.topic, partition: info.partition, wanted: String(wanted), low: String(low), high: String(high) },
        'start offset outside the log, clamped',
      );
    }
    return clamped;
  }
}
