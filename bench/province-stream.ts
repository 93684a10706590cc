/**
 * A deterministic simulated province for benchmarks: a catalog of 20 departments, 100 communes and 300
 * procedures in real code formats, and a stream of dossier lifecycles (about 7.3 events each) arriving
 * at a large province's pace (DOSSIERS_PER_DAY, about 900,000 a year), interleaved so a dossier's events
 * are in order but far apart, as agencies sync.
 */
import { parseCatalog, type Catalog } from '@iocbus/catalog';
import type { DossierEvent } from '@iocbus/events';

// ---- a province: 20 departments, 100 communes, 300 procedures in 40 sectors (real code formats) ----------

export function provinceCatalog(): Catalog {
  const units = [
    ...Array.from({ length: 20 }, (_, i) => ({ code: `H21.${10 + i}`, name: `Sở ${i}`, group: 'department', parent: 'H21' })),
    ...Array.from({ length: 100 }, (_, i) => ({ code: `H21.${200 + i}`, name: `UBND xã ${i}`, group: 'commune', parent: 'H21' })),
  ];
  const procedures = Array.from({ length: 300 }, (_, i) => ({
    code: `${1 + (i % 2)}.${String(1000 + i * 7).padStart(6, '0')}`,
    name: `Thủ tục ${i}`,
    sectorCode: `G${String(1 + (i % 40)).padStart(2, '0')}-LV${String(i % 9).padStart(2, '0')}`,
    onlineLevel: i % 3 === 0 ? 'full' : i % 3 === 1 ? 'partial' : 'none',
    paperResultRequired: i % 4 !== 0,
    fee: i % 3 === 0 ? 0 : 50_000,
  }));
  return parseCatalog({ format: 'iocbus.catalog/v1', version: 'bench', sample: true, province: { code: 'H21', name: 'Bench' }, units, procedures });
}

// ---- deterministic stream --------------------------------------------------------------------------------

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
function rfc3339(sec: number): string {
  const d = new Date((sec + 7 * 3600) * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}+07:00`;
}

export const T0 = Date.parse('2025-01-01T00:00:00+07:00') / 1000;
const H = 3600;
/** Average events per dossier lifecycle in this stream. */
export const EVENTS_PER_DOSSIER = 7.3;
/** Dossiers received per day: a large province (≈ 900,000 a year, ≈ 18,000 events a day). */
export const DOSSIERS_PER_DAY = 2_500;

interface Pending {
  events: object[];
  next: number;
}

/** Dossiers whose lifecycles the stream interleaves at once, by default. */
export const IN_FLIGHT = 4000;

/**
 * The province's dossiers, DOSSIERS_PER_DAY of them a day, each with its own lifecycle; the stream
 * interleaves `inFlight` dossiers (default IN_FLIGHT) at once, so a dossier's events are in order but far
 * apart. More in flight spreads consecutive events over more dossiers (a larger working set of dossier state).
 */
export class ProvinceStream {
  private readonly rnd: () => number;
  private readonly inFlight: Pending[] = [];
  private dossier = 0;
  emitted = 0;

  constructor(
    seed: number,
    private readonly dossiers: number,
    private readonly openOnly = false,
    private readonly inFlightMax = IN_FLIGHT,
  ) {
    this.rnd = mulberry32(seed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)] as T;
  }

  private lifecycle(i: number): object[] {
    const r = this.rnd;
    const commune = r() < 0.7;
    // Communes share the 60 commune-level procedures; each department handles its own 12 (as in a real
    // catalog, a unit handles a subset of procedures). Popularity is steep: civil status dominates.
    const dept = Math.floor(r() * 20);
    const unit = commune ? `H21.${200 + Math.floor(r() * 100)}` : `H21.${10 + dept}`;
    const p = commune ? Math.floor(60 * Math.pow(r(), 3)) : 60 + dept * 12 + Math.floor(12 * Math.pow(r(), 2));
    const procedure = `${1 + (p % 2)}.${String(1000 + p * 7).padStart(6, '0')}`;
    const code = `000.00.${unit.slice(4)}.H21-${pad(25)}${pad(1 + (i % 12))}${pad(1 + (i % 28))}-${String(i).padStart(7, '0')}`;
    const source = `/agencies/${unit}/igate`;
    const recv = T0 + Math.floor((i / DOSSIERS_PER_DAY) * 86_400) + Math.floor(r() * 3600);
    const dueH = this.pick([8, 24, 72, 120, 240, 360]);
    const due = recv + dueH * H;
    const channel = r() < 0.45 ? 'online' : r() < 0.92 ? 'direct' : 'postal';
    let k = 0;
    const out: object[] = [];
    const e = (name: string, at: number, extra: Record<string, unknown>) => {
      const t = rfc3339(at);
      out.push({
        specversion: '1.0',
        id: `${i.toString(16).padStart(8, '0')}-${(k++).toString(16).padStart(4, '0')}-4000-8000-00000000${pad(k)}00`,
        source,
        type: `vn.gov.tthc.dossier.${name}`,
        time: t,
        subject: code,
        data: { dossierCode: code, procedureCode: procedure, unitCode: unit, occurredAt: t, ...extra },
      });
    };
    if (channel === 'online') e('submitted', recv - Math.floor(r() * 2 * H), { channel, vneidAuthenticated: r() < 0.6 });
    const components = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, c) => ({ code: `GT${c}`, digitized: r() < 0.985, reused: r() < 0.3, fromPersonalStore: r() < 0.1 }));
    e('received', recv, { receivedAt: rfc3339(recv), dueAt: rfc3339(due), channel, applicantType: r() < 0.8 ? 'citizen' : 'business', populationDbUsed: r() < 0.5, components });
    if (this.openOnly) return out;
    let t = recv;
    if (r() < 0.1) e('transferred', (t += Math.floor(r() * 4 * H)), { fromUnitCode: unit, toUnitCode: `H21.${10 + Math.floor(r() * 20)}` });
    let paused = 0;
    if (r() < 0.08) {
      const req = (t += Math.floor(r() * dueH * 0.3 * H));
      e('supplement_requested', req, { requestedAt: rfc3339(req) });
      if (r() < 0.9) {
        const sup = (t += Math.floor(r() * 72 * H));
        paused = sup - req;
        e('supplement_received', sup, { suppliedAt: rfc3339(sup) });
      }
    }
    if (r() < 0.35) {
      e('fee_requested', (t += Math.floor(r() * 4 * H)), { amount: 50_000 });
      const paidAt = (t += Math.floor(r() * 24 * H));
      e('fee_paid', paidAt, { paidAt: rfc3339(paidAt), amount: 50_000, method: this.pick(['national_portal', 'local_gateway', 'local_gateway', 'offline']) });
    }
    if (r() < 0.02) e('deadline_extended', due - H, { oldDueAt: rfc3339(due), newDueAt: rfc3339(due + 48 * H) });
    const fate = r();
    if (fate < 0.93) {
      // 88 % within the deadline.
      const end = recv + paused + Math.floor((r() < 0.88 ? r() * 0.95 : 1 + r() * 0.5) * dueH * H);
      e('result_issued', end - 60, { electronic: r() < 0.7 });
      e('resolved', end, { resolvedAt: rfc3339(end) });
      e('result_returned', end + 2 * H, { returnedAt: rfc3339(end + 2 * H), method: 'direct' });
      if (r() < 0.25) e('rated', end + 3 * H, { rating: r() < 0.95 ? 'satisfied' : 'dissatisfied' });
    } else if (fate < 0.96) {
      e('withdrawn', t + H, { withdrawnAt: rfc3339(t + H) });
    } else if (fate < 0.97) {
      e('stopped', t + H, { stoppedAt: rfc3339(t + H), reason: 'không đủ điều kiện' });
    }
    if (r() < 0.9) e('synced_national', recv + 6 * H, { syncedAt: rfc3339(recv + 6 * H) });
    return out;
  }

  /** The next chunk of events, as freshly decoded JSON (flat strings, new objects), or [] at the end. */
  chunk(max: number): DossierEvent[] {
    const out: object[] = [];
    while (out.length < max) {
      while (this.inFlight.length < this.inFlightMax && this.dossier < this.dossiers) this.inFlight.push({ events: this.lifecycle(this.dossier++), next: 0 });
      if (this.inFlight.length === 0) break;
      const j = Math.floor(this.rnd() * this.inFlight.length);
      const d = this.inFlight[j] as Pending;
      out.push(d.events[d.next++] as object);
      if (d.next === d.events.length) {
        this.inFlight[j] = this.inFlight[this.inFlight.length - 1] as Pending;
        this.inFlight.pop();
      }
    }
    this.emitted += out.length;
    return JSON.parse(JSON.stringify(out)) as DossierEvent[];
  }
}
