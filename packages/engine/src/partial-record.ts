/**
 * Records of the compacted partials topic (`iocbus.indicator-partials.v1`), written by the aggregator and
 * read by every view instance. Pure: no Buffer, no I/O.
 *
 * Keys carry the input partition first, so each input partition's contribution to a (window, scope) is its
 * own compacted key; the view keeps the latest value per key and merges across input partitions
 * (mergePartials). Every value is absolute — the partition's whole current contribution — so a record
 * re-published after a crash and replay overwrites its predecessor instead of adding to it.
 *
 *   `<p>/<partialKey>`  value = encodePartial(partial); an empty value means the partition no longer holds
 *                        that partial (its window passed retention) and the view drops it
 *   `<p>/~progress`     value = encodeProgress(progress): input offset reflected, event-time watermark,
 *                        wall-clock time of the update, last-seen times per source (bounded)
 *
 * partialKey never starts with `~` (it starts with a window kind), so the two kinds of key cannot collide.
 * Records of one input partition may land on different partials-topic partitions, so a reader can see a
 * progress record before the partial records published with it; progress is a heartbeat and watermark,
 * not a barrier.
 */
import { ByteReader, ByteWriter } from './codec.js';
import { EngineDecodeError } from './errors.js';
import { decodePartial, encodePartial, type IndicatorPartial } from './partials.js';

export const PROGRESS_KEY_SUFFIX = '~progress';
export const PROGRESS_FORMAT_VERSION = 1;
const PROGRESS_MAGIC = 0x47; // 'G'
/** Default bound on sources carried by one progress record (the most recently heard from are kept). */
export const PROGRESS_MAX_SOURCES = 256;

export interface SourceProgress {
  /** CloudEvents `source` of the sending system. */
  source: string;
  /** Latest event time (occurredAt, ms) seen from this source on this partition. */
  lastEventMs: number;
  /** Wall-clock time (ms) at which the aggregator last applied an event from this source on this partition. */
  lastSeenMs: number;
}

export interface PartitionProgress {
  /** Input (events topic) partition. */
  inputPartition: number;
  /** How many partitions the input topic had when this was written (lets a reader see a partition is missing). */
  inputPartitions: number;
  /** Next input offset: every record below it is reflected in the partials published with this progress. */
  offset: string;
  /** Highest event time (occurredAt, ms) applied on this partition; null before the first event. */
  watermarkMs: number | null;
  /** The engine's clock (ms) when the partials were taken: gauges such as "overdue now" are as of this time. */
  clockMs: number;
  /** Wall-clock time (ms) of this update. */
  updatedAtMs: number;
  /** Sources heard from on this partition, most recent first, at most maxSources of them. */
  sources: SourceProgress[];
  /** Sources left out to respect the bound. */
  sourcesOmitted: number;
}

export type PartialRecordKey = { inputPartition: number; kind: 'partial'; partialKey: string } | { inputPartition: number; kind: 'progress' };

export type PartialRecord =
  | { kind: 'partial'; inputPartition: number; partialKey: string; partial: IndicatorPartial }
  | { kind: 'removed'; inputPartition: number; partialKey: string }
  | { kind: 'progress'; inputPartition: number; progress: PartitionProgress };

export function partialRecordKey(inputPartition: number, partialKey: string): string {
  return `${inputPartition}/${partialKey}`;
}

export function progressRecordKey(inputPartition: number): string {
  return `${inputPartition}/${PROGRESS_KEY_SUFFIX}`;
}

export function parsePartialRecordKey(key: string): PartialRecordKey {
  const slash = key.indexOf('/');
  const head = slash < 0 ? '' : key.slice(0, slash);
  if (!/^(0|[1-9]\d{0,8})$/.test(head)) throw new EngineDecodeError(`partials record key ${JSON.stringify(key)} does not start with "<input partition>/"`);
  const inputPartition = Number(head);
  const rest = key.slice(slash + 1);
  if (rest === PROGRESS_KEY_SUFFIX) return { inputPartition, kind: 'progress' };
  if (rest === '' || rest.startsWith('~')) throw new EngineDecodeError(`partials record key ${JSON.stringify(key)} names no partial`);
  return { inputPartition, kind: 'partial', partialKey: rest };
}

/** The value of a partial record (the engine's own versioned partial encoding). */
export function encodePartialRecordValue(partial: IndicatorPartial): Uint8Array {
  return encodePartial(partial);
}

/** Decodes one record of the partials topic; throws EngineDecodeError for a key or value it cannot read. */
export function decodePartialRecord(key: string, value: Uint8Array): PartialRecord {
  const k = parsePartialRecordKey(key);
  if (k.kind === 'progress') {
    const progress = decodeProgress(value);
    if (progress.inputPartition !== k.inputPartition) {
      throw new EngineDecodeError(`progress record under key ${key} is for input partition ${progress.inputPartition}`);
    }
    return { kind: 'progress', inputPartition: k.inputPartition, progress };
  }
  if (value.length === 0) return { kind: 'removed', inputPartition: k.inputPartition, partialKey: k.partialKey };
  return { kind: 'partial', inputPartition: k.inputPartition, partialKey: k.partialKey, partial: decodePartial(value) };
}

/**
 * Sources kept in a progress record: the `max` most recently heard from (wall clock, then event time),
 * and how many were left out.
 */
export function boundSources(sources: Iterable<SourceProgress>, max = PROGRESS_MAX_SOURCES): { sources: SourceProgress[]; omitted: number } {
  const all = [...sources].sort((a, b) => b.lastSeenMs - a.lastSeenMs || b.lastEventMs - a.lastEventMs || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  return { sources: all.slice(0, Math.max(0, max)), omitted: Math.max(0, all.length - Math.max(0, max)) };
}

const OFFSET_RE = /^(0|[1-9]\d{0,18})$/;

export function encodeProgress(p: PartitionProgress): Uint8Array {
  if (!OFFSET_RE.test(p.offset)) throw new RangeError(`progress offset must be a non-negative decimal integer, got ${JSON.stringify(p.offset)}`);
  const w = new ByteWriter(64 + p.sources.length * 48);
  w.u8(PROGRESS_MAGIC);
  w.u8(PROGRESS_FORMAT_VERSION);
  w.uvar(p.inputPartition);
  w.uvar(p.inputPartitions);
  w.str(p.offset);
  w.u8(p.watermarkMs === null ? 0 : 1);
  if (p.watermarkMs !== null) w.svar(p.watermarkMs);
  w.svar(p.clockMs);
  w.svar(p.updatedAtMs);
  w.uvar(p.sources.length);
  for (const s of p.sources) {
    w.str(s.source);
    w.svar(s.lastEventMs);
    w.svar(s.lastSeenMs);
  }
  w.uvar(p.sourcesOmitted);
  return w.finish();
}

export function decodeProgress(bytes: Uint8Array): PartitionProgress {
  const r = new ByteReader(bytes);
  if (r.u8() !== PROGRESS_MAGIC) throw new EngineDecodeError('not an iocbus progress record (bad magic byte)');
  const version = r.u8();
  if (version !== PROGRESS_FORMAT_VERSION) {
    throw new EngineDecodeError(`progress format version ${version} is not supported (this build reads ${PROGRESS_FORMAT_VERSION})`);
  }
  const inputPartition = r.uvar();
  const inputPartitions = r.uvar();
  const offset = r.str();
  if (!OFFSET_RE.test(offset)) throw new EngineDecodeError(`progress offset ${JSON.stringify(offset)} is not a decimal integer`);
  const watermarkMs = r.u8() === 0 ? null : r.svar();
  const clockMs = r.svar();
  const updatedAtMs = r.svar();
  const n = r.uvar();
  if (n > 1_000_000) throw new EngineDecodeError(`progress with ${n} sources is not plausible`);
  const sources: SourceProgress[] = [];
  for (let i = 0; i < n; i++) sources.push({ source: r.str(), lastEventMs: r.svar(), lastSeenMs: r.svar() });
  const sourcesOmitted = r.uvar();
  if (!r.done) throw new EngineDecodeError('trailing bytes after progress record');
  return { inputPartition, inputPartitions, offset, watermarkMs, clockMs, updatedAtMs, sources, sourcesOmitted };
}
