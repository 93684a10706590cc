/**
 * Test support for the engine's tests and benchmark (not exported from the package): a small inline
 * catalog, local-time helpers and terse builders for valid dossier events.
 */
import { parseCatalog, type Catalog } from '@iocbus/catalog';
import type { DossierEvent } from '@iocbus/events';
import { createPartitionEngine, type PartitionEngine, type PartitionEngineOptions } from './engine.js';
import { evaluate, type IndicatorValue } from './evaluate.js';
import type { IndicatorPartial } from './partials.js';

export const testCatalog: Catalog = parseCatalog(
  {
    format: 'iocbus.catalog/v1',
    version: 'test-1',
    sample: true,
    province: { code: 'H21', name: 'Test province' },
    units: [
      { code: 'H21.17', name: 'Sở Tư pháp', group: 'department', parent: 'H21' },
      { code: 'H21.18', name: 'Sở Xây dựng', group: 'department', parent: 'H21' },
      { code: 'H21.227', name: 'UBND xã Phú Lộc', group: 'commune', parent: 'H21', district: 'Huyện Tây Giang (cũ)' },
    ],
    procedures: [
      { code: '1.001193', name: 'Đăng ký khai sinh', sectorCode: 'G09-TP01', onlineLevel: 'full', paperResultRequired: false, fee: 0 },
      { code: '1.004227', name: 'Đăng ký đất đai lần đầu', sectorCode: 'G16-NN05', onlineLevel: 'partial', paperResultRequired: true, fee: 100000 },
      { code: '1.009972', name: 'Cấp giấy phép xây dựng', sectorCode: 'G12-XD01', onlineLevel: 'partial', paperResultRequired: true, fee: 150000 },
    ],
  },
  'testkit',
);

/** '2025-03-10 08:00' (local, UTC+7) → '2025-03-10T08:00:00+07:00'. */
export function at(local: string): string {
  const [d, t = '00:00'] = local.split(' ');
  return `${d}T${t.length === 5 ? `${t}:00` : t}+07:00`;
}

/** Epoch ms of a local time string. */
export function ms(local: string): number {
  return Date.parse(at(local));
}

let seq = 0;

export interface Dims {
  unit?: string;
  procedure?: string;
  sector?: string;
  source?: string;
  id?: string;
}

type DataOf<N extends string> = Extract<DossierEvent, { type: `vn.gov.tthc.dossier.${N}` }>['data'];
type Extra<N extends string> = Omit<DataOf<N>, 'dossierCode' | 'procedureCode' | 'unitCode' | 'occurredAt' | 'sectorCode'>;

export function make<N extends string>(name: N, code: string, when: string, extra: Extra<N>, dims: Dims = {}): DossierEvent {
  const occurredAt = at(when);
  const data: Record<string, unknown> = {
    dossierCode: code,
    procedureCode: dims.procedure ?? '1.001193',
    unitCode: dims.unit ?? 'H21.17',
    occurredAt,
    ...extra,
  };
  if (dims.sector !== undefined) data.sectorCode = dims.sector;
  return {
    specversion: '1.0',
    id: dims.id ?? `e-${++seq}`,
    source: dims.source ?? `/agencies/${dims.unit ?? 'H21.17'}/igate`,
    type: `vn.gov.tthc.dossier.${name}`,
    time: occurredAt,
    subject: code,
    data,
  } as unknown as DossierEvent;
}

export interface ReceivedOpts extends Dims {
  due: string;
  channel?: 'direct' | 'online' | 'postal';
  applicant?: 'citizen' | 'business';
  paper?: boolean;
  components?: { code: string; digitized: boolean; reused?: boolean; fromPersonalStore?: boolean }[];
  vneid?: boolean;
  popDb?: boolean;
}

export const ev = {
  submitted: (code: string, when: string, vneid = false, d: Dims = {}) => make('submitted', code, when, { channel: 'online', vneidAuthenticated: vneid }, d),
  received: (code: string, when: string, o: ReceivedOpts) => {
    const extra: Record<string, unknown> = { receivedAt: at(when), dueAt: at(o.due), channel: o.channel ?? 'direct', applicantType: o.applicant ?? 'citizen' };
    if (o.paper !== undefined) extra.paperResultRequired = o.paper;
    if (o.components !== undefined) extra.components = o.components;
    if (o.vneid !== undefined) extra.vneidAuthenticated = o.vneid;
    if (o.popDb !== undefined) extra.populationDbUsed = o.popDb;
    return make('received', code, when, extra as Extra<'received'>, o);
  },
  intakeRejected: (code: string, when: string, d: Dims = {}) => make('intake_rejected', code, when, { reason: 'thiếu giấy tờ' }, d),
  digitized: (code: string, when: string, codes: string[], d: Dims = {}) => make('digitized', code, when, { componentCodes: codes }, d),
  transferred: (code: string, when: string, from: string, to: string, d: Dims = {}) => make('transferred', code, when, { fromUnitCode: from, toUnitCode: to }, { ...d, unit: to }),
  supplementRequested: (code: string, when: string, d: Dims = {}) => make('supplement_requested', code, when, { requestedAt: at(when) }, d),
  supplementReceived: (code: string, when: string, d: Dims = {}) => make('supplement_received', code, when, { suppliedAt: at(when) }, d),
  feeRequested: (code: string, when: string, amount: number, d: Dims = {}) => make('fee_requested', code, when, { amount }, d),
  feePaid: (code: string, when: string, amount: number, method: 'national_portal' | 'local_gateway' | 'offline', d: Dims = {}) =>
    make('fee_paid', code, when, { paidAt: at(when), amount, method }, d),
  deadlineExtended: (code: string, when: string, oldDue: string, newDue: string, d: Dims = {}) =>
    make('deadline_extended', code, when, { oldDueAt: at(oldDue), newDueAt: at(newDue) }, d),
  withdrawn: (code: string, when: string, d: Dims = {}) => make('withdrawn', code, when, { withdrawnAt: at(when) }, d),
  stopped: (code: string, when: string, d: Dims = {}) => make('stopped', code, when, { stoppedAt: at(when), reason: 'không đủ điều kiện' }, d),
  resolved: (code: string, when: string, d: Dims = {}) => make('resolved', code, when, { resolvedAt: at(when) }, d),
  resultIssued: (code: string, when: string, electronic: boolean, d: Dims = {}) => make('result_issued', code, when, { electronic }, d),
  returned: (code: string, when: string, d: Dims = {}) => make('result_returned', code, when, { returnedAt: at(when), method: 'direct' }, d),
  rated: (code: string, when: string, rating: 'satisfied' | 'neutral' | 'dissatisfied', d: Dims = {}) => make('rated', code, when, { rating }, d),
  synced: (code: string, when: string, d: Dims = {}) => make('synced_national', code, when, { syncedAt: at(when) }, d),
};

export function engineAt(nowLocal: string, o: Partial<PartitionEngineOptions> = {}): PartitionEngine {
  return createPartitionEngine({ catalog: testCatalog, allowedLatenessMs: 2 * 86_400_000, clock: () => ms(nowLocal), ...o });
}

/** Look-up helper over evaluated values: value of indicator in (window kind, label) × scope. */
export function valuesOf(partials: IndicatorPartial[], nowLocal: string): (indicator: string, window: string, scope?: string) => IndicatorValue | undefined {
  const values = evaluate(partials, { nowMs: ms(nowLocal) });
  const byKey = new Map<string, IndicatorValue>();
  for (const v of values) byKey.set(`${v.indicator}|${v.window.kind === 'day' || v.window.kind === 'month' || v.window.kind === 'quarter' || v.window.kind === 'year' ? v.window.label : v.window.kind}|${v.scope.kind}:${v.scope.code}`, v);
  return (indicator, window, scope = 'province:H21') => byKey.get(`${indicator}|${window}|${scope}`);
}

/** Epoch ms → 'YYYY-MM-DD HH:MM' local (UTC+7). */
export function local(epochMs: number): string {
  const d = new Date(epochMs + 7 * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

/** Partials that carry something (all-zero ones are what a fact added then retracted leaves behind). */
export function nonZero(partials: IndicatorPartial[]): IndicatorPartial[] {
  return partials.filter((p) => p.measures.some((x) => x !== 0) || (p.sketch !== null && !p.sketch.isEmpty()));
}

/** Order-free, exact text form of a set of partials, for equality checks. */
export function canonical(partials: IndicatorPartial[]): string[] {
  return nonZero(partials)
    .map((p) =>
      JSON.stringify([
        `${p.window.kind}:${p.window.label}|${p.scope.kind}:${p.scope.code}|${p.scope.group ?? ''}`,
        p.closed,
        p.revised,
        Array.from(p.measures),
        p.sketch === null ? null : [p.sketch.count, p.sketch.zeroCount, p.sketch.entries()],
      ]),
    )
    .sort();
}

/** Order-free text form of every indicator value of the (non-zero) partials at a given time. */
export function canonicalValues(partials: IndicatorPartial[], nowMs: number): string[] {
  return evaluate(nonZero(partials), { nowMs })
    .map((v) => JSON.stringify(v))
    .sort();
}
