/**
 * A deterministic, realistic stream of dossier events for the aggregator's tests and the pipeline benchmark:
 * dossiers received over past days across the catalog's units and procedures, with supplement rounds, fees,
 * withdrawals, resolutions, returns, ratings and national syncs, plus re-sent duplicates (a client retrying
 * past the gateway's dedup window). Times keep a margin of hours from `nowMs`, so "overdue now" cannot flip
 * while a test runs.
 */
import type { Catalog } from '@iocbus/catalog';
import type { DossierEvent } from '@iocbus/events';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** xorshift32: small, fast, reproducible. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** RFC 3339 in Vietnam's offset (UTC+07:00), whole seconds. */
export function vnTime(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000 + 7 * HOUR);
  return `${d.toISOString().slice(0, 19)}+07:00`;
}

export interface WorkloadOptions {
  catalog: Catalog;
  /** Events are placed before this time (default: now). */
  nowMs?: number;
  seed?: number;
  /** Earliest receipt, in days before nowMs (default 8). */
  spanDays?: number;
  /** Share of events re-sent verbatim later in the stream (default 0.02). */
  duplicateShare?: number;
  /** Prefix of dossier codes and event ids, so runs do not collide (default 'W'). */
  prefix?: string;
}

/** The events of `dossiers` dossiers, in an order where each dossier's own events come in time order. */
export function workload(dossiers: number, o: WorkloadOptions): DossierEvent[] {
  const out: DossierEvent[] = [];
  for (const e of dossierEvents(dossiers, o)) out.push(e);
  return out;
}

/** Streaming form of workload(), for benchmarks that do not want the whole array in memory. */
export function* dossierEvents(dossiers: number, o: WorkloadOptions): Generator<DossierEvent> {
  const rand = rng(o.seed ?? 1);
  const now = o.nowMs ?? Date.now();
  const span = (o.spanDays ?? 8) * DAY;
  const dupShare = o.duplicateShare ?? 0.02;
  const prefix = o.prefix ?? 'W';
  const units = o.catalog.units;
  const procedures = o.catalog.procedures;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  let seq = 0;
  const held: DossierEvent[] = [];

  for (let n = 0; n < dossiers; n++) {
    const unit = pick(units);
    const proc = pick(procedures);
    const code = `${prefix}.${unit.code}-${String(n).padStart(7, '0')}`;
    const source = `/agencies/${unit.code}/igate`;
    const common = { dossierCode: code, procedureCode: proc.code, unitCode: unit.code };
    // Received between span and 6 h ago, on a whole minute.
    const receivedMs = Math.floor((now - 6 * HOUR - rand() * (span - 6 * HOUR)) / 60_000) * 60_000;
    // Due either well past (overdue unless ended) or well ahead: never near nowMs.
    const dueMs = rand() < 0.25 ? Math.min(receivedMs + 2 * HOUR, now - 3 * HOUR) : now + (1 + Math.floor(rand() * 10)) * DAY;
    const channel = pick(['online', 'online', 'direct', 'postal'] as const);
    const events: { at: number; type: string; data: Record<string, unknown> }[] = [];
    const ev = (at: number, type: string, data: Record<string, unknown> = {}) => events.push({ at, type, data });

    if (rand() < 0.05) {
      ev(receivedMs, 'intake_rejected', { reason: 'hồ sơ thiếu thành phần' });
    } else {
      const components = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => ({
        code: `TP${i + 1}`,
        digitized: rand() < 0.9,
        reused: rand() < 0.3,
        fromPersonalStore: rand() < 0.1,
      }));
      if (channel === 'online') ev(receivedMs - 30 * 60_000, 'submitted', { channel: 'online', vneidAuthenticated: rand() < 0.5 });
      ev(receivedMs, 'received', {
        receivedAt: vnTime(receivedMs),
        dueAt: vnTime(dueMs),
        channel,
        applicantType: rand() < 0.8 ? 'citizen' : 'business',
        paperResultRequired: proc.paperResultRequired,
        populationDbUsed: rand() < 0.4,
        components,
      });
      let t = receivedMs;
      const step = () => (t = Math.min(t + Math.floor(rand() * 3 * HOUR) + 60_000, now - 4 * HOUR));
      if (proc.fee > 0) {
        ev(step(), 'fee_requested', { amount: proc.fee });
        if (rand() < 0.8) ev(step(), 'fee_paid', { paidAt: vnTime(t), amount: proc.fee, method: pick(['national_portal', 'local_gateway', 'offline'] as const) });
      }
      const rounds = rand() < 0.15 ? (rand() < 0.2 ? 2 : 1) : 0;
      let open = false;
      for (let r = 0; r < rounds; r++) {
        ev(step(), 'supplement_requested', { requestedAt: vnTime(t) });
        if (rand() < 0.85) ev(step(), 'supplement_received', { suppliedAt: vnTime(t) });
        else open = true;
      }
      if (rand() < 0.1) ev(step(), 'deadline_extended', { oldDueAt: vnTime(dueMs), newDueAt: vnTime(dueMs + 2 * DAY) });
      const fate = rand();
      if (!open && fate < 0.6) {
        ev(step(), 'resolved', { resolvedAt: vnTime(t) });
        if (rand() < 0.7) ev(step(), 'result_issued', { electronic: rand() < 0.6 });
        if (rand() < 0.8) ev(step(), 'result_returned', { returnedAt: vnTime(t), method: pick(['direct', 'postal', 'electronic'] as const) });
        if (rand() < 0.5) ev(step(), 'rated', { rating: pick(['satisfied', 'satisfied', 'neutral', 'dissatisfied'] as const) });
        if (rand() < 0.7) ev(step(), 'synced_national', { syncedAt: vnTime(t) });
      } else if (!open && fate < 0.65) {
        ev(step(), 'withdrawn', { withdrawnAt: vnTime(t) });
      } else if (!open && fate < 0.68) {
        ev(step(), 'stopped', { stoppedAt: vnTime(t), reason: 'không đủ điều kiện' });
      }
    }
    for (const e of events) {
      const occurredAt = vnTime(e.at);
      const event = {
        specversion: '1.0',
        id: `${prefix}-${++seq}`,
        source,
        type: `vn.gov.tthc.dossier.${e.type}`,
        time: occurredAt,
        subject: code,
        data: { ...common, ...(proc.sectorCode === undefined ? {} : { sectorCode: proc.sectorCode }), occurredAt, ...e.data },
      } as unknown as DossierEvent;
      yield event;
      if (rand() < dupShare) held.push(event);
    }
    // Re-send held duplicates a little later in the stream.
    while (held.length > 0 && rand() < 0.5) yield held.shift()!;
  }
  yield* held;
}
