/**
 * The province simulator: a discrete-event simulation of every unit's one-stop shop. Arrivals are drawn
 * minute by minute from daily and hourly volume curves; each arriving dossier plans its whole life
 * (lifecycle.ts) from its own generator; the planned events wait in a heap until the simulated clock
 * reaches the moment the agency's system sends them (at once, or with the next batch for systems that
 * sync late). The events are a pure function of (catalog, profile, seed, start, scale): how the clock is
 * stepped or how fast it runs changes when they are sent, never what is sent.
 */
import type { Catalog } from '@iocbus/catalog';
import { eventTypeOf, type Channel, type EventName } from '@iocbus/events';
import {
  DAY_MS,
  MINUTE_MS,
  VN_OFFSET_MS,
  WorkCalendar,
  formatLocal,
  localDay,
  minuteOfDay,
  weekday,
  yymmdd,
} from './calendar.js';
import { MinHeap } from './heap.js';
import { TIME_FIELDS, planDossier, type PlannedEvent, type ResolvedProcedure, type ResolvedUnit } from './lifecycle.js';
import { officeCalendar, profileSchema, type SimulationProfile } from './profile.js';
import { Rng, hashString } from './rng.js';

export interface SimulatorOptions {
  catalog: Catalog;
  profile: SimulationProfile;
  seed: number | string;
  /** Simulated time the province opens at (ms); rounded down to the minute. Dossiers start arriving then. */
  startMs: number;
  /** Multiplies every volume (1 = the profile's province). */
  scale?: number;
}

/** One event as the agency's system sends it. */
export interface SimulatedEvent {
  /** CloudEvents JSON structured form, ready for POST /v1/events:batch. */
  event: SimulatedCloudEvent;
  /** Event time (ms). */
  at: number;
  /** When the agency's system sends it: the event time, or later for systems that upload in batches. */
  sendAt: number;
}

export interface SimulatedCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

export interface SimulatorStats {
  dossiers: number;
  emitted: number;
  /** Planned events not yet sent (future lifecycle steps, batches not yet uploaded). */
  pending: number;
  byType: Record<string, number>;
}

interface Stream {
  unit: ResolvedUnit;
  procedure: ResolvedProcedure;
  offlinePerDay: number;
  onlinePerDay: number;
}

interface Dossier {
  code: string;
  unit: ResolvedUnit;
  procedure: ResolvedProcedure;
}

interface Pending {
  time: number;
  seq: number;
  dossier: Dossier;
  planned: PlannedEvent;
  index: number;
}

/** DVC-style unit prefix of a dossier code: H21.17 → 000.00.17.H21 (SAMPLE convention). */
export function dossierPrefix(unitCode: string): string {
  const [province, ...rest] = unitCode.split('.');
  return `000.00.${rest.join('-') || '00'}.${province}`;
}

export class ProvinceSimulator {
  private readonly cal: WorkCalendar;
  private readonly rates: SimulationProfile['rates'];
  private readonly curves: SimulationProfile['curves'];
  private readonly streams: Stream[] = [];
  private readonly offlineWeights: number[];
  private readonly onlineWeights: number[];
  private readonly offlineTotal: number;
  private readonly onlineTotal: number;
  private readonly directNorm: number;
  private readonly onlineNorm: number;
  private readonly arrivals: Rng;
  private readonly heap = new MinHeap<Pending>();
  private readonly serials = new Map<string, number>();
  private readonly byType: Record<string, number> = {};
  private readonly seed: number | string;
  /** Distinguishes event ids of runs with another seed or start, so the gateway's dedup never merges them. */
  readonly runTag: string;
  private nextMinute: number;
  private clock: number;
  private seq = 0;
  private dossiers = 0;
  private emitted = 0;

  constructor(options: SimulatorOptions) {
    const { catalog, profile } = options;
    const scale = options.scale ?? 1;
    if (!(scale > 0)) throw new RangeError('scale must be positive');
    this.seed = options.seed;
    this.cal = new WorkCalendar(officeCalendar(profile));
    this.rates = profile.rates;
    this.curves = profile.curves;
    this.nextMinute = Math.floor(options.startMs / MINUTE_MS) * MINUTE_MS;
    this.clock = this.nextMinute;
    this.runTag = `sim${(hashString(`${String(options.seed)}|${this.nextMinute}|${scale}`) >>> 0).toString(36)}`;
    this.arrivals = new Rng(options.seed, 0);

    const unitProfiles = new Map(profile.units.map((u) => [u.code, u]));
    const units = new Map<string, ResolvedUnit>();
    for (const entry of catalog.units) {
      const p = unitProfiles.get(entry.code) ?? profileSchema.shape.units.element.parse({ code: entry.code });
      units.set(entry.code, { ...p, source: p.source ?? `/agencies/${entry.code}/igate`, group: entry.group });
    }
    const communes = [...units.values()].filter((u) => u.group === 'commune');
    for (const p of profile.procedures) {
      const entry = catalog.procedure(p.code);
      if (entry === undefined) continue;
      const procedure: ResolvedProcedure = {
        ...p,
        sectorCode: entry.sectorCode,
        fee: entry.fee,
        paperResultRequired: entry.paperResultRequired,
      };
      const online = entry.onlineLevel === 'none' ? 0 : p.online;
      const handlers = p.handledBy === 'communes' ? communes : p.handledBy.map((c) => units.get(c)).filter((u) => u !== undefined);
      for (const unit of handlers) {
        const perDay = p.perUnitPerDay * unit.sizeFactor * scale;
        this.streams.push({ unit, procedure, offlinePerDay: perDay * (1 - online), onlinePerDay: perDay * online });
      }
    }
    this.offlineWeights = this.streams.map((s) => s.offlinePerDay);
    this.onlineWeights = this.streams.map((s) => s.onlinePerDay);
    this.offlineTotal = this.offlineWeights.reduce((a, b) => a + b, 0);
    this.onlineTotal = this.onlineWeights.reduce((a, b) => a + b, 0);
    // Per-minute weights of one working day sum to these, so a day's expected volume is the profile's.
    let direct = 0;
    const sample = this.firstWorkingDay(localDay(this.nextMinute));
    for (let m = 0; m < 1440; m++) {
      const t = sample * DAY_MS - VN_OFFSET_MS + m * MINUTE_MS;
      if (this.cal.isOpen(t)) direct += this.curves.hourDirect[Math.floor(m / 60)] as number;
    }
    this.directNorm = direct;
    this.onlineNorm = 60 * this.curves.hourOnline.reduce((a, b) => a + b, 0);
  }

  /** The simulated time up to which events have been handed out. */
  get now(): number {
    return this.clock;
  }

  stats(): SimulatorStats {
    return { dossiers: this.dossiers, emitted: this.emitted, pending: this.heap.size, byType: { ...this.byType } };
  }

  /** Time of the next event that would be sent, or undefined if nothing is pending yet. */
  peekSendAt(): number | undefined {
    return this.heap.peek()?.time;
  }

  /**
   * Moves the simulated clock to `toMs` and returns every event sent by then, in send order
   * (each dossier's events in lifecycle order). Never moves the clock back.
   */
  advanceTo(toMs: number, limit = Number.POSITIVE_INFINITY): SimulatedEvent[] {
    const out: SimulatedEvent[] = [];
    for (;;) {
      // Arrivals are generated only as far as the next event to hand out needs (a new arrival's events
      // are never earlier than its minute), which keeps the heap to what is really in flight.
      for (let top = this.heap.peek(); this.nextMinute < toMs && (top === undefined || top.time >= this.nextMinute); top = this.heap.peek()) {
        this.generateMinute(this.nextMinute);
        this.nextMinute += MINUTE_MS;
      }
      const top = this.heap.peek();
      if (top === undefined || top.time > toMs || out.length >= limit) break;
      this.heap.pop();
      out.push(this.build(top));
    }
    // With a limit the clock stops where the last handed-out event was, so nothing is skipped.
    const top = this.heap.peek();
    const cut = out.length >= limit && top !== undefined && top.time <= toMs;
    const last = out[out.length - 1];
    this.clock = Math.max(this.clock, cut && last !== undefined ? last.sendAt : toMs);
    return out;
  }

  private firstWorkingDay(from: number): number {
    for (let d = from; d < from + 14; d++) if (this.cal.isWorkingDay(d)) return d;
    return from;
  }

  private generateMinute(minuteStart: number): void {
    const rng = this.arrivals;
    const hour = Math.floor(minuteOfDay(minuteStart) / 60);
    const wd = weekday(minuteStart);
    const directRate =
      this.cal.isOpen(minuteStart) && this.directNorm > 0
        ? (this.offlineTotal * (this.curves.weekdayDirect[wd] as number) * (this.curves.hourDirect[hour] as number)) / this.directNorm
        : 0;
    const onlineRate =
      this.onlineNorm > 0 ? (this.onlineTotal * (this.curves.weekdayOnline[wd] as number) * (this.curves.hourOnline[hour] as number)) / this.onlineNorm : 0;
    const arrivals: { at: number; stream: Stream; channel: Channel }[] = [];
    const offline = rng.poisson(directRate);
    for (let i = 0; i < offline; i++) {
      const stream = this.streams[rng.weightedIndex(this.offlineWeights, this.offlineTotal)] as Stream;
      const channel: Channel = rng.chance(this.rates.postalShareOfOffline) ? 'postal' : 'direct';
      arrivals.push({ at: minuteStart + rng.int(0, 59) * 1000, stream, channel });
    }
    const online = rng.poisson(onlineRate);
    for (let i = 0; i < online; i++) {
      const stream = this.streams[rng.weightedIndex(this.onlineWeights, this.onlineTotal)] as Stream;
      arrivals.push({ at: minuteStart + rng.int(0, 59) * 1000, stream, channel: 'online' });
    }
    arrivals.sort((a, b) => a.at - b.at);
    for (const a of arrivals) this.admit(a.at, a.stream, a.channel);
  }

  private admit(at: number, stream: Stream, channel: Channel): void {
    const { unit, procedure } = stream;
    const dayKey = `${unit.code}|${localDay(at)}`;
    const serial = (this.serials.get(dayKey) ?? 0) + 1;
    this.serials.set(dayKey, serial);
    const code = `${dossierPrefix(unit.code)}-${yymmdd(at)}-${String(serial).padStart(4, '0')}`;
    this.dossiers++;
    const plan = planDossier({ code, unit, procedure, channel, arrivalMs: at }, this.rates, this.cal, new Rng(this.seed, this.dossiers));
    const dossier: Dossier = { code, unit, procedure };
    plan.forEach((planned, index) => {
      this.heap.push({ time: this.sendTime(unit, planned.at), seq: this.seq++, dossier, planned, index });
    });
  }

  private sendTime(unit: ResolvedUnit, at: number): number {
    if (unit.sync === undefined) return at;
    // Batch uploads run on the local clock (every N minutes after midnight) and take events at least `lag` old.
    const every = unit.sync.everyMinutes * MINUTE_MS;
    const ready = at + unit.sync.lagMinutes * MINUTE_MS;
    return Math.ceil((ready + VN_OFFSET_MS) / every) * every - VN_OFFSET_MS;
  }

  private build(p: Pending): SimulatedEvent {
    const { dossier, planned } = p;
    const time = formatLocal(planned.at);
    const data: Record<string, unknown> = {
      dossierCode: dossier.code,
      procedureCode: dossier.procedure.code,
      unitCode: dossier.unit.code,
      sectorCode: dossier.procedure.sectorCode,
      occurredAt: time,
    };
    for (const [k, v] of Object.entries(planned.data)) data[k] = TIME_FIELDS.has(k) && typeof v === 'number' ? formatLocal(v) : v;
    this.emitted++;
    this.byType[planned.name] = (this.byType[planned.name] ?? 0) + 1;
    return {
      event: {
        specversion: '1.0',
        id: `${this.runTag}-${dossier.code}-${p.index + 1}`,
        source: dossier.unit.source,
        type: eventTypeOf(planned.name as EventName),
        time,
        subject: dossier.code,
        datacontenttype: 'application/json',
        data,
      },
      at: planned.at,
      sendAt: p.time,
    };
  }
}
