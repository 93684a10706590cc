import { setTimeout as sleep } from 'node:timers/promises';
import { BusError, BusErrorCode } from '../errors.js';
import type { BusLogger } from '../logger.js';
import type { TopicPartition } from '../ports.js';
import { deferred, keyOf, SerialQueue, type Deferred } from '../util.js';
import { mapKafkaError } from './errors.js';
import type { FetchedPartition } from './fetch-protocol.js';
import type { ResolvedOptions } from './options.js';
import type { KafkaReader } from './reader.js';

interface Target {
  tp: TopicPartition;
  /** Next offset to fetch. */
  offset: bigint;
}

/**
 * Fetches a changing set of partitions from their positions, one loop per leader broker, and hands
 * each partition's records to `deliver`, one at a time across loops. While they are being delivered
 * the next Fetch to that broker is already in flight (the broker reads its log meanwhile); a
 * partition that is set again or removed has whatever was fetched for it before dropped.
 */
export class PartitionFetcher {
  private readonly targets = new Map<string, Target>();
  private readonly deliveries = new SerialQueue();
  private changed: Deferred<void> = deferred<void>();
  private regroup = false;
  private stopping = false;
  private failures = 0;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly stopped = new AbortController();

  constructor(
    private readonly reader: KafkaReader,
    private readonly settings: ResolvedOptions,
    private readonly log: BusLogger,
    /** Called with one partition's fetched data (not yet decoded, never without data), in offset order per partition. */
    private readonly deliver: (fetched: FetchedPartition) => Promise<void>,
    /** A failure retrying cannot fix (a corrupt batch, an unsupported format): fetching stops. */
    private readonly onFatal: (error: BusError) => void,
  ) {}

  start(): void {
    this.loopDone = this.loop();
  }

  /** Fetch `tp` from `offset` on; anything fetched for it before is dropped. */
  set(tp: TopicPartition, offset: bigint): void {
    this.targets.set(keyOf(tp), { tp: { topic: tp.topic, partition: tp.partition }, offset });
    this.touch();
  }

  remove(tp: TopicPartition): void {
    if (this.targets.delete(keyOf(tp))) this.touch();
  }

  /** Stops fetching every partition not in `keep` (keys from keyOf). */
  retainOnly(keep: ReadonlySet<string>): void {
    for (const key of [...this.targets.keys()]) if (!keep.has(key)) this.targets.delete(key);
    this.touch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    this.touch();
    await this.loopDone;
  }

  private touch(): void {
    this.regroup = true;
    this.changed.resolve();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.regroup = false;
      this.changed = deferred<void>();
      if (this.targets.size === 0) {
        await this.changed.promise;
        continue;
      }
      let leaders: Map<number, string[]>;
      try {
        leaders = await this.leaders();
        const led = [...leaders.values()].reduce((n, keys) => n + keys.length, 0);
        // Partitions the metadata does not know (yet): reload it rather than spin.
        if (led < this.targets.size) throw new BusError(BusErrorCode.Unavailable, `no leader known for ${this.targets.size - led} partition(s)`);
      } catch (err) {
        await this.backOff(err);
        continue;
      }
      await Promise.all([...leaders].map(([nodeId, keys]) => this.follow(nodeId, keys)));
    }
    await this.deliveries.idle();
  }

  private async leaders(): Promise<Map<number, string[]>> {
    const byTopic = new Map<string, number[]>();
    for (const { tp } of this.targets.values()) {
      const list = byTopic.get(tp.topic);
      if (list === undefined) byTopic.set(tp.topic, [tp.partition]);
      else list.push(tp.partition);
    }
    const out = new Map<number, string[]>();
    for (const [topic, partitions] of byTopic) {
      for (const [nodeId, ps] of await this.reader.leaders(topic, partitions)) {
        const keys = out.get(nodeId) ?? [];
        for (const partition of ps) keys.push(keyOf({ topic, partition }));
        out.set(nodeId, keys);
      }
    }
    return out;
  }

  /** Fetches what `keys` still name; resolves with each partition's target as it was when asked. */
  private fetchRound(nodeId: number, keys: readonly string[]): Promise<Array<{ target: Target; fetched: FetchedPartition }>> | null {
    const asked = new Map<string, Target>();
    for (const key of keys) {
      const target = this.targets.get(key);
      if (target !== undefined) asked.set(key, target);
    }
    if (asked.size === 0) return null;
    const wanted = [...asked.values()].map((t) => ({ topic: t.tp.topic, partition: t.tp.partition, offset: t.offset }));
    return this.reader.fetchPartitions(nodeId, wanted, this.settings.consumer.maxWaitTimeMs).then((fetched) =>
      fetched.flatMap((f) => {
        const target = asked.get(keyOf(f));
        return target === undefined ? [] : [{ target, fetched: f }];
      }),
    );
  }

  private async follow(nodeId: number, keys: readonly string[]): Promise<void> {
    let pending = this.fetchRound(nodeId, keys);
    try {
      while (pending !== null && !this.stopping && !this.regroup) {
        let round;
        try {
          round = await pending;
          this.failures = 0;
        } catch (err) {
          pending = null;
          this.regroup = true;
          await this.backOff(err);
          return;
        }
        // Positions move on as soon as a response is in, so the next Fetch can go out before delivery.
        const current = round.filter(({ target }) => this.targets.get(keyOf(target.tp)) === target);
        for (const { target, fetched } of current) target.offset = fetched.next;
        pending = this.stopping || this.regroup ? null : this.fetchRound(nodeId, keys);
        await this.deliveries.run(async () => {
          for (const { target, fetched } of current) {
            if (this.stopping) return;
            // Set again or removed since it was fetched: what came back is no longer wanted.
            if (fetched.recordSet === null || this.targets.get(keyOf(target.tp)) !== target) continue;
            await this.deliver(fetched);
          }
        });
      }
    } finally {
      // An abandoned prefetch: its result (or failure) is of no use any more.
      pending?.catch(() => undefined);
    }
  }

  private async backOff(err: unknown): Promise<void> {
    const mapped = mapKafkaError(err, 'fetch');
    // A leader moving can briefly report the partition unknown; anything else non-retriable is final.
    if (!mapped.retriable && mapped.code !== BusErrorCode.UnknownTopic) {
      this.stopping = true;
      this.onFatal(mapped);
      return;
    }
    this.log.warn({ err: mapped }, 'fetch failed, retrying');
    await this.reader.recover(err);
    const { initialRetryTimeMs, maxRetryTimeMs } = this.settings.retry;
    const delay = Math.min(initialRetryTimeMs * 2 ** Math.min(this.failures++, 16), maxRetryTimeMs);
    await sleep(delay, undefined, { signal: this.stopped.signal }).catch(() => undefined);
  }
}
