/**
 * fast-check arbitraries for valid dossier events, for property tests here and in other packages
 * (import from '@iocbus/events/arbitraries'). Everything generated passes parseCloudEvent unchanged,
 * and includes the awkward-but-valid corners: lower-case t/z and ±hh:mm offsets in timestamps,
 * nanosecond fractions, non-ASCII text and codes, extension attributes, zero fees, false booleans.
 */
import fc from 'fast-check';
import { EVENT_TYPES, type EventType } from './names.js';
import {
  APPLICANT_TYPES,
  CHANNELS,
  CONTEXT_ATTRIBUTES,
  PAYMENT_METHODS,
  RATINGS,
  RETURN_METHODS,
  type Component,
  type DossierEvent,
  type DossierEventOf,
  type EventDataOf,
} from './schemas.js';

export interface EventArbitraryOptions {
  /** Dossier codes (subject and data.dossierCode); default: realistic and odd-but-valid codes. */
  dossierCode?: fc.Arbitrary<string>;
  /** Procedure, unit, sector and component codes. */
  code?: fc.Arbitrary<string>;
  /** Every timestamp in the event (time, occurredAt, receivedAt, …). */
  timestamp?: fc.Arbitrary<string>;
  /** CloudEvent sources. */
  source?: fc.Arbitrary<string>;
  /** Generate extension attributes and dataschema (default true). */
  extras?: boolean;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

// Arbitraries are immutable, so the building blocks are built once and shared; they are composed from
// integers rather than fc.stringMatching, which costs close to a millisecond per drawn value.
let timestampArb: fc.Arbitrary<string> | undefined;
let codeArb: fc.Arbitrary<string> | undefined;

/** RFC 3339 timestamps with an offset, between years 1990 and 2099. */
export function arbitraryTimestamp(): fc.Arbitrary<string> {
  return (timestampArb ??= fc
    .record({
      y: fc.integer({ min: 1990, max: 2099 }),
      mo: fc.integer({ min: 1, max: 12 }),
      d: fc.integer({ min: 1, max: 31 }),
      h: fc.integer({ min: 0, max: 23 }),
      mi: fc.integer({ min: 0, max: 59 }),
      s: fc.integer({ min: 0, max: 59 }),
      frac: fc.option(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 999_999_999 })).map(([n, v]) => pad(v, 9).slice(0, n)), { nil: undefined }),
      t: fc.constantFrom('T', 'T', 'T', 't'),
      off: fc.oneof(
        fc.constantFrom('Z', '+07:00', '+07:00', 'z', '-00:00'),
        fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([sg, h, m]) => `${sg}${pad(h)}:${pad(m)}`),
      ),
    })
    .map(({ y, mo, d, h, mi, s, frac, t, off }) => {
      const dim = new Date(Date.UTC(2000, mo, 0)).getUTCDate(); // 2000 is a leap year: Feb has 29
      const day = mo === 2 && dim === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? Math.min(d, 28) : Math.min(d, dim);
      return `${y}-${pad(mo)}-${pad(day)}${t}${pad(h)}:${pad(mi)}:${pad(s)}${frac === undefined ? '' : `.${frac}`}${off}`;
    }));
}

const noControl = (s: string): boolean => !/[\p{Cc}]/u.test(s);
const noSpaceOrControl = (s: string): boolean => s.length > 0 && /^[^\s\p{Cc}]+$/u.test(s);

/** Codes: mostly realistic (H21.17, 1.004227, 000.00.17.H21-250701-0001), sometimes any non-space text. */
export function arbitraryCode(): fc.Arbitrary<string> {
  return (codeArb ??= fc.oneof(
    // Unit codes: H21, H21.17, H21.227.3
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('H', 'G', 'K', 'XA'), fc.integer({ min: 1, max: 99 }), fc.array(fc.integer({ min: 1, max: 9999 }), { maxLength: 2 })).map(([p, n, parts]) => [`${p}${pad(n)}`, ...parts].join('.')) },
    // Procedure codes: 1.004227
    { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 999_999 })).map(([a, b]) => `${a}.${pad(b, 6)}`) },
    // Dossier codes: 000.00.17.H21-250701-0001
    { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 9999 })).map(([u, p, d, n]) => `000.00.${pad(u)}.H${pad(p)}-${pad(d, 6)}-${pad(n, 4)}`) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => s.length <= 100 && noSpaceOrControl(s)) },
  ));
}

function arbitraryText(required: boolean): fc.Arbitrary<string> {
  return fc
    .string({ unit: 'grapheme', minLength: required ? 1 : 0, maxLength: 60 })
    .filter((s) => s.length <= 4000 && noControl(s) && (!required || s.trim().length > 0));
}

const bool = fc.boolean();
const amount = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50_000_000 }), fc.maxSafeNat());

interface Ctx {
  code: fc.Arbitrary<string>;
  ts: fc.Arbitrary<string>;
}

function component(c: Ctx): fc.Arbitrary<Component> {
  return fc.record(
    { code: c.code, digitized: bool, reused: bool, fromPersonalStore: bool },
    { requiredKeys: ['code', 'digitized'], noNullPrototype: true },
  );
}

/** The extra fields of each type: required keys listed separately so fc.record omits optional ones. */
function extras(type: EventType, c: Ctx): { model: Record<string, fc.Arbitrary<unknown>>; required: string[] } {
  switch (type) {
    case 'vn.gov.tthc.dossier.submitted':
      return { model: { channel: fc.constantFrom(...CHANNELS), applicantType: fc.constantFrom(...APPLICANT_TYPES), vneidAuthenticated: bool }, required: ['channel'] };
    case 'vn.gov.tthc.dossier.received':
      return {
        model: {
          receivedAt: c.ts,
          dueAt: c.ts,
          channel: fc.constantFrom(...CHANNELS),
          applicantType: fc.constantFrom(...APPLICANT_TYPES),
          statutoryHours: fc.oneof(fc.constantFrom(8, 24, 40, 120, 0.5), fc.double({ min: Number.MIN_VALUE, max: 1_000_000, noNaN: true })),
          paperResultRequired: bool,
          feeRequired: bool,
          vneidAuthenticated: bool,
          populationDbUsed: bool,
          components: fc.array(component(c), { minLength: 1, maxLength: 6 }),
        },
        required: ['receivedAt', 'dueAt', 'channel', 'applicantType'],
      };
    case 'vn.gov.tthc.dossier.intake_rejected':
      return { model: { reason: arbitraryText(true) }, required: ['reason'] };
    case 'vn.gov.tthc.dossier.digitized':
      return { model: { componentCodes: fc.array(c.code, { minLength: 1, maxLength: 6 }) }, required: ['componentCodes'] };
    case 'vn.gov.tthc.dossier.transferred':
      return { model: { fromUnitCode: c.code, toUnitCode: c.code, interAgency: bool }, required: ['fromUnitCode', 'toUnitCode'] };
    case 'vn.gov.tthc.dossier.supplement_requested':
      return { model: { requestedAt: c.ts, note: arbitraryText(false) }, required: ['requestedAt'] };
    case 'vn.gov.tthc.dossier.supplement_received':
      return { model: { suppliedAt: c.ts, newDueAt: c.ts }, required: ['suppliedAt'] };
    case 'vn.gov.tthc.dossier.fee_requested':
      return { model: { amount }, required: ['amount'] };
    case 'vn.gov.tthc.dossier.fee_paid':
      return { model: { paidAt: c.ts, amount, method: fc.constantFrom(...PAYMENT_METHODS) }, required: ['paidAt', 'amount', 'method'] };
    case 'vn.gov.tthc.dossier.deadline_extended':
      return { model: { oldDueAt: c.ts, newDueAt: c.ts, reason: arbitraryText(false) }, required: ['oldDueAt', 'newDueAt'] };
    case 'vn.gov.tthc.dossier.withdrawn':
      return { model: { withdrawnAt: c.ts }, required: ['withdrawnAt'] };
    case 'vn.gov.tthc.dossier.stopped':
      return { model: { stoppedAt: c.ts, reason: arbitraryText(true) }, required: ['stoppedAt', 'reason'] };
    case 'vn.gov.tthc.dossier.resolved':
      return { model: { resolvedAt: c.ts }, required: ['resolvedAt'] };
    case 'vn.gov.tthc.dossier.result_issued':
      return {
        model: {
          electronic: bool,
          resultFileUrl: fc.webUrl({ withQueryParameters: true, withFragments: true }).filter((u) => u.length <= 2048 && URL.canParse(u)),
          syncedToCitizenStore: bool,
        },
        required: ['electronic'],
      };
    case 'vn.gov.tthc.dossier.result_returned':
      return { model: { returnedAt: c.ts, method: fc.constantFrom(...RETURN_METHODS) }, required: ['returnedAt', 'method'] };
    case 'vn.gov.tthc.dossier.rated':
      return { model: { rating: fc.constantFrom(...RATINGS), comment: arbitraryText(false) }, required: ['rating'] };
    case 'vn.gov.tthc.dossier.synced_national':
      return { model: { syncedAt: c.ts }, required: ['syncedAt'] };
  }
}

/** Valid `data` of one type. */
export function arbitraryData<T extends EventType>(type: T, options: EventArbitraryOptions = {}): fc.Arbitrary<EventDataOf<T>> {
  const c: Ctx = { code: options.code ?? arbitraryCode(), ts: options.timestamp ?? arbitraryTimestamp() };
  const x = extras(type, c);
  const model = {
    dossierCode: options.dossierCode ?? arbitraryCode(),
    procedureCode: c.code,
    unitCode: c.code,
    occurredAt: c.ts,
    sectorCode: c.code,
    ...x.model,
  };
  const requiredKeys = ['dossierCode', 'procedureCode', 'unitCode', 'occurredAt', ...x.required] as (keyof typeof model)[];
  return fc.record(model, { requiredKeys, noNullPrototype: true }) as unknown as fc.Arbitrary<EventDataOf<T>>;
}

const RESERVED = new Set<string>(CONTEXT_ATTRIBUTES);

function arbitraryExtensions(): fc.Arbitrary<Record<string, string>> {
  return fc.dictionary(
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 20 }).filter((k) => !RESERVED.has(k)),
    fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'true', '42')),
    { minKeys: 1, maxKeys: 3 },
  ).map((d) => ({ ...d })); // fc.dictionary builds null-prototype objects; events are plain JSON objects
}

export function arbitrarySource(): fc.Arbitrary<string> {
  return fc.oneof(
    arbitraryCode().map((u) => `/agencies/${u}/igate`),
    fc.constantFrom('/agencies/H21.17/igate', 'urn:vn:gov:h21:motcua', 'https://dvc.example.gov.vn/igate'),
    fc.webUrl(),
  );
}

/** A valid event of the given type. */
export function arbitraryEventOf<T extends EventType>(type: T, options: EventArbitraryOptions = {}): fc.Arbitrary<DossierEventOf<T>> {
  const withExtras = options.extras ?? true;
  return fc
    .record(
      {
        id: fc.oneof(fc.uuid(), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.length <= 256 && noControl(s))),
        source: options.source ?? arbitrarySource(),
        time: options.timestamp ?? arbitraryTimestamp(),
        dataschema: fc.webUrl(),
        extensions: arbitraryExtensions(),
        data: arbitraryData(type, options),
      },
      { requiredKeys: ['id', 'source', 'time', 'data'] },
    )
    .map((r) => {
      const data = r.data as { dossierCode: string };
      const event: Record<string, unknown> = { specversion: '1.0', id: r.id, source: r.source, type, time: r.time, subject: data.dossierCode };
      if (withExtras && r.dataschema !== undefined) event.dataschema = r.dataschema;
      if (withExtras && r.extensions !== undefined) event.extensions = r.extensions;
      event.data = data;
      return event as unknown as DossierEventOf<T>;
    });
}

/** A valid event of any type (every type equally likely). */
export function arbitraryEvent(options: EventArbitraryOptions = {}): fc.Arbitrary<DossierEvent> {
  return fc.oneof(...EVENT_TYPES.map((t) => arbitraryEventOf(t, options) as fc.Arbitrary<DossierEvent>));
}

export { EXAMPLE_EVENTS } from './examples.js';
