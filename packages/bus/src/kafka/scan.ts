import { BusError, BusErrorCode } from '../errors.js';
import type { ConsumedRecord, PartitionOffsets, ScanOptions } from '../ports.js';
import type { KafkaReader } from './reader.js';

// A fetch below the high watermark returns at once; the wait only bounds a broker hiccup.
const SCAN_WAIT_MS = 100;
// Fetches in a row that moved no partition forward before the scan gives up.
const MAX_IDLE_FETCHES = 50;

export async function scanToEnd(
  reader: KafkaReader,
  topic: string,
  onRecords: (records: readonly ConsumedRecord[]) => Promise<void> | void,
  options: ScanOptions = {},
): Promise<PartitionOffsets[]> {
  const existing = await reader.prepare(topic);
  const partitions = options.partitions ?? existing;
  const unknown = partitions.filter((p) => !existing.includes(p));
  if (unknown.length > 0) throw new BusError(BusErrorCode.UnknownTopic, `topic ${topic} has no partition ${unknown.join(', ')}`);
  const bounds = await reader.withRetries(`offsets of ${topic}`, () => reader.bounds(topic, partitions));
  const end = new Map(bounds.map((b) => [b.partition, BigInt(b.high)]));
  const positions = new Map(bounds.filter((b) => BigInt(b.low) < BigInt(b.high)).map((b) => [b.partition, BigInt(b.low)]));
  let idle = 0;
  while (positions.size > 0) {
    const fetched = await reader.withRetries(`scan ${topic}`, () => reader.fetch(topic, positions, SCAN_WAIT_MS));
    let progressed = false;
    for (const f of fetched.sort((a, b) => a.partition - b.partition)) {
      const limit = end.get(f.partition)!;
      const records = f.records.filter((r) => BigInt(r.offset) < limit);
      if (records.length > 0) await onRecords(records);
      if (f.next > positions.get(f.partition)!) progressed = true;
      if (f.next >= limit) positions.delete(f.partition);
      else positions.set(f.partition, f.next);
    }
    idle = progressed ? 0 : idle + 1;
    if (idle > MAX_IDLE_FETCHES) {
      throw new BusError(BusErrorCode.Unavailable, `scan of ${topic} made no progress in ${MAX_IDLE_FETCHES} fetches`);
    }
  }
  return bounds;
}
