/**
 * One owned input partition: its engine, the position the engine's state reflects, and what the progress
 * records say about it (watermark, per-source last seen). Everything here changes synchronously, record by
 * record, so state and position always agree whenever a checkpoint or a publication reads them.
 */
import type { BusRecord } from '@iocbus/bus';
import {
  boundSources,
  encodePartialRecordValue,
  encodeProgress,
  partialKey,
  partialRecordKey,
  progressRecordKey,
  type PartitionEngine,
  type SourceProgress,
} from '@iocbus/engine';
import { toEpochMs, type DossierEvent } from '@iocbus/events';
import type { Checkpoint } from './checkpoint.js';
import { toOffset } from './offsets.js';

const EMPTY = Buffer.alloc(0);
const PARTIAL_HEADERS = { 'content-type': 'application/vnd.iocbus.partial' };
const PROGRESS_HEADERS = { 'content-type': 'application/vnd.iocbus.progress' };

export interface PartitionWorkInit {
  topic: string;
  partition: number;
  engine: PartitionEngine;
  /** Next offset to apply. */
  position: number;
  /** Publishing waits until the position reaches this (the log's end when assigned) or holdDeadlineMs passes. */
  holdUntil: number;
  holdDeadlineMs: number;
  checkpoint: Checkpoint | null;
  nowMs: number;
  /** Bound on sources tracked (kept in memory; progress records carry fewer). */
  maxTrackedSources: number;
}

export class PartitionWork {
  readonly topic: string;
  readonly partition: number;
  readonly engine: PartitionEngine;
  /** Offsets are numbers: exact below 2^53, which Kafka offsets do not reach (toOffset checks). */
  position: number;
  highWatermark: number;
  watermarkMs: number | null;
  /** Offset and wall time of the latest checkpoint known to hold this partition's state. */
  checkpointOffset: number | null;
  checkpointAtMs: number;
  /** Number of this partition's latest checkpoint turn (0: none yet); the lowest goes next. */
  checkpointTurn = 0;
  /** Set when a publication failed: the next one sends every partial, not just the changed ones. */
  republishAll = false;
  private holdUntil: number;
  private readonly holdDeadlineMs: number;
  private lastProgressAtMs = 0;
  private lastProgressPosition = -1;
  private readonly sources = new Map<string, SourceProgress>();
  private readonly maxTrackedSources: number;

  constructor(init: PartitionWorkInit) {
    this.topic = init.topic;
    this.partition = init.partition;
    this.engine = init.engine;
    this.position = init.position;
    this.highWatermark = init.holdUntil;
    this.holdUntil = init.holdUntil;
    this.holdDeadlineMs = init.holdDeadlineMs;
    this.watermarkMs = init.checkpoint?.watermarkMs ?? null;
    this.checkpointOffset = init.checkpoint === null ? null : toOffset(init.checkpoint.offset);
    this.checkpointAtMs = init.checkpoint === null ? init.nowMs : init.checkpoint.writtenAtMs;
    this.maxTrackedSources = init.maxTrackedSources;
    for (const s of init.checkpoint?.sources ?? []) this.sources.set(s.source, { ...s });
  }

  /**
   * Applies one decoded event at `offset`. Returns whether it was new (false: a duplicate by source and id)
   * and whether it was late (older than the engine clock minus `latenessMs`).
   */
  apply(event: DossierEvent, offset: number, nowMs: number, latenessMs: number): { applied: boolean; late: boolean } {
    const applied = this.engine.apply(event);
    this.position = offset + 1;
    const eventMs = toEpochMs(event.data.occurredAt);
    if (!applied || !Number.isFinite(eventMs)) return { applied, late: false };
    if (this.watermarkMs === null || eventMs > this.watermarkMs) this.watermarkMs = eventMs;
    const s = this.sources.get(event.source);
    if (s === undefined) {
      this.sources.set(event.source, { source: event.source, lastEventMs: eventMs, lastSeenMs: nowMs });
      if (this.sources.size > this.maxTrackedSources) this.forgetOldestSources();
    } else {
      if (eventMs > s.lastEventMs) s.lastEventMs = eventMs;
      s.lastSeenMs = nowMs;
    }
    return { applied, late: eventMs < this.engine.nowMs - latenessMs };
  }

  /** Skips a record that was not applied (dead-lettered): the state still reflects everything below it. */
  skip(offset: number): void {
    this.position = offset + 1;
  }

  private forgetOldestSources(): void {
    const keep = boundSources(this.sources.values(), Math.floor(this.maxTrackedSources / 2)).sources;
    this.sources.clear();
    for (const s of keep) this.sources.set(s.source, s);
  }

  sourceList(): SourceProgress[] {
    return [...this.sources.values()].map((s) => ({ ...s }));
  }

  get lag(): number {
    return Math.max(0, this.highWatermark - this.position);
  }

  /** Still replaying up to where the partition's log was when assigned (and not for too long). */
  held(nowMs: number): boolean {
    if (this.holdUntil === 0) return false;
    if (this.position >= this.holdUntil || nowMs >= this.holdDeadlineMs) {
      this.holdUntil = 0;
      return false;
    }
    return true;
  }

  /**
   * The records to append for this partition now: every changed partial (absolute values), an empty value
   * for each evicted one, and a progress record when anything moved or the heartbeat is due. Drains the
   * engine's change set: if the append fails, set `republishAll`.
   */
  collect(nowMs: number, inputPartitions: number, maxSources: number, heartbeatMs: number): BusRecord[] {
    const records: BusRecord[] = [];
    const { updated, evicted } = this.engine.drainChanges();
    const partials = this.republishAll ? this.engine.partials() : updated;
    this.republishAll = false;
    for (const p of partials) {
      records.push({ key: partialRecordKey(this.partition, partialKey(p)), value: toBuffer(encodePartialRecordValue(p)), headers: PARTIAL_HEADERS });
    }
    for (const e of evicted) records.push({ key: partialRecordKey(this.partition, e.key), value: EMPTY, headers: PARTIAL_HEADERS });
    const moved = this.position !== this.lastProgressPosition;
    if (records.length > 0 || moved || nowMs - this.lastProgressAtMs >= heartbeatMs) {
      const { sources, omitted } = boundSources(this.sources.values(), maxSources);
      const progress = encodeProgress({
        inputPartition: this.partition,
        inputPartitions,
        offset: String(this.position),
        watermarkMs: this.watermarkMs,
        clockMs: this.engine.nowMs,
        updatedAtMs: nowMs,
        sources,
        sourcesOmitted: omitted,
      });
      records.push({ key: progressRecordKey(this.partition), value: toBuffer(progress), headers: PROGRESS_HEADERS });
      this.lastProgressAtMs = nowMs;
      this.lastProgressPosition = this.position;
    }
    return records;
  }

  /** A progress round that did not reach the log: send it again next time. */
  progressFailed(): void {
    this.lastProgressPosition = -1;
    this.republishAll = true;
  }

  /** The state to checkpoint, taken synchronously so state and offset agree. */
  checkpoint(nowMs: number): Checkpoint {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: String(this.position),
      watermarkMs: this.watermarkMs,
      sources: this.sourceList(),
      writtenAtMs: nowMs,
      snapshot: this.engine.snapshot(),
    };
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
