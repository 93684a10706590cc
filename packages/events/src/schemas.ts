/**
 * The zod schemas of SPEC §1: one source of truth for both validation and the TypeScript types.
 *
 * Unknown fields: every `data` object (and each component inside it) is strict — an unknown field is a
 * problem, because a misspelt optional field (`sectorcode`) would otherwise vanish silently and skew the
 * indicators. The envelope tolerates CloudEvents extension attributes (lower-case alphanumeric names,
 * CloudEvents 1.0 §"Extension Context Attributes"); they are carried, as strings, in `extensions`.
 */
import { z } from 'zod';
import { isWellFormed } from './chars.js';
import {
  absoluteUrl,
  amountVnd,
  bool,
  code,
  describeValue,
  expecting,
  attributeString,
  extensionString,
  nonEmptyList,
  oneOf,
  optionalText,
  positiveHours,
  requiredText,
  timestamp,
} from './fields.js';
import { REJECT, withAccept } from './fast-accept.js';
import { EVENT_NAMES, isEventType, type EventName, type EventType } from './names.js';

export const CHANNELS = ['direct', 'online', 'postal'] as const;
export const APPLICANT_TYPES = ['citizen', 'business'] as const;
export const PAYMENT_METHODS = ['national_portal', 'local_gateway', 'offline'] as const;
export const RETURN_METHODS = ['direct', 'postal', 'electronic'] as const;
export const RATINGS = ['satisfied', 'neutral', 'dissatisfied'] as const;

export type Channel = (typeof CHANNELS)[number];
export type ApplicantType = (typeof APPLICANT_TYPES)[number];
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export type ReturnMethod = (typeof RETURN_METHODS)[number];
export type Rating = (typeof RATINGS)[number];

const channel = oneOf(CHANNELS);
const applicantType = oneOf(APPLICANT_TYPES);

/** Fields every dossier event's data carries. */
const common = {
  dossierCode: code,
  procedureCode: code,
  unitCode: code,
  occurredAt: timestamp,
  sectorCode: code.optional(),
};

function data<S extends z.core.$ZodLooseShape>(extra: S) {
  return z.strictObject({ ...common, ...extra }, { error: expecting('a JSON object') });
}

export const componentSchema = z.strictObject(
  {
    code,
    digitized: bool,
    reused: bool.optional(),
    fromPersonalStore: bool.optional(),
  },
  { error: expecting('a component object {code, digitized, reused?, fromPersonalStore?}') },
);
export type Component = z.output<typeof componentSchema>;

export const DATA_SCHEMAS = {
  'vn.gov.tthc.dossier.submitted': data({
    channel,
    applicantType: applicantType.optional(),
    vneidAuthenticated: bool.optional(),
  }),
  'vn.gov.tthc.dossier.received': data({
    receivedAt: timestamp,
    dueAt: timestamp,
    channel,
    applicantType,
    statutoryHours: positiveHours.optional(),
    paperResultRequired: bool.optional(),
    feeRequired: bool.optional(),
    vneidAuthenticated: bool.optional(),
    populationDbUsed: bool.optional(),
    components: nonEmptyList(componentSchema, 'components').optional(),
  }),
  'vn.gov.tthc.dossier.intake_rejected': data({ reason: requiredText }),
  'vn.gov.tthc.dossier.digitized': data({ componentCodes: nonEmptyList(code, 'component codes') }),
  'vn.gov.tthc.dossier.transferred': data({
    fromUnitCode: code,
    toUnitCode: code,
    interAgency: bool.optional(),
  }),
  'vn.gov.tthc.dossier.supplement_requested': data({ requestedAt: timestamp, note: optionalText.optional() }),
  'vn.gov.tthc.dossier.supplement_received': data({ suppliedAt: timestamp, newDueAt: timestamp.optional() }),
  'vn.gov.tthc.dossier.fee_requested': data({ amount: amountVnd }),
  'vn.gov.tthc.dossier.fee_paid': data({ paidAt: timestamp, amount: amountVnd, method: oneOf(PAYMENT_METHODS) }),
  'vn.gov.tthc.dossier.deadline_extended': data({
    oldDueAt: timestamp,
    newDueAt: timestamp,
    reason: optionalText.optional(),
  }),
  'vn.gov.tthc.dossier.withdrawn': data({ withdrawnAt: timestamp }),
  'vn.gov.tthc.dossier.stopped': data({ stoppedAt: timestamp, reason: requiredText }),
  'vn.gov.tthc.dossier.resolved': data({ resolvedAt: timestamp }),
  'vn.gov.tthc.dossier.result_issued': data({
    electronic: bool,
    resultFileUrl: absoluteUrl.optional(),
    syncedToCitizenStore: bool.optional(),
  }),
  'vn.gov.tthc.dossier.result_returned': data({ returnedAt: timestamp, method: oneOf(RETURN_METHODS) }),
  'vn.gov.tthc.dossier.rated': data({ rating: oneOf(RATINGS), comment: optionalText.optional() }),
  'vn.gov.tthc.dossier.synced_national': data({ syncedAt: timestamp }),
} as const satisfies Record<EventType, z.ZodType>;

export type EventDataOf<T extends EventType> = z.output<(typeof DATA_SCHEMAS)[T]>;
export type EventDataByName<N extends EventName> = EventDataOf<`vn.gov.tthc.dossier.${N}`>;

/** Fields common to every event's data. */
export type CommonData = z.output<z.ZodObject<typeof common>>;

export const SPEC_VERSION = '1.0';

/** Names of the CloudEvents context attributes this profile knows; anything else is an extension. */
export const CONTEXT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
] as const;

/** CloudEvents 1.0: extension names are lower-case ASCII letters and digits. */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/**
 * The envelope's context attributes, with `data` left to the per-type schema. Other members are
 * extension attributes, checked by validateCandidate (parse.ts) against EXTENSION_NAME and
 * extensionValueSchema; this schema strips them (a loose object would copy every member, data included).
 */
export const envelopeSchema = z.object(
  {
    specversion: withAccept(z.literal(SPEC_VERSION, { error: expecting('the string "1.0"') }), (v) => (v === SPEC_VERSION ? v : REJECT)),
    id: attributeString('a non-empty event id of at most 256 characters without control characters', 256, 'line'),
    source: attributeString('a URI-reference without spaces or control characters (such as /agencies/H21.17/igate), at most 512 characters', 512, 'token'),
    type: withAccept(
      z.string({ error: expecting('a dossier event type such as vn.gov.tthc.dossier.received') }).check((ctx) => {
        if (!isEventType(ctx.value)) {
          ctx.issues.push({
            code: 'custom',
            input: ctx.value,
            message: `expected a known dossier event type (vn.gov.tthc.dossier.{${EVENT_NAMES.join(',')}}), got ${describeValue(ctx.value)}`,
          });
        }
      }),
      (v) => (isEventType(v) ? v : REJECT),
    ),
    time: timestamp,
    subject: code,
    // At the JSON edge data must be a JSON object; see parse.ts for what is accepted.
    datacontenttype: withAccept(z.string({ error: expecting('a media type string') }), (v) => (typeof v === 'string' ? v : REJECT)).optional(),
    dataschema: attributeString('a URI without spaces or control characters, at most 2048 characters', 2048, 'token').optional(),
  },
  { error: expecting('a CloudEvent JSON object') },
);

/** An extension attribute as sent in JSON; stored as its CloudEvents canonical string form. */
export const extensionValueSchema = withAccept(
  z.union([extensionString, z.boolean(), z.number().int()], {
    error: expecting('a string (at most 4096 characters), boolean or integer extension attribute value'),
  }),
  // Strings (the usual case: trace ids) take the fast path; booleans and integers are left to zod.
  (v) => (typeof v === 'string' && v.length <= 4096 && isWellFormed(v) ? v : REJECT),
);

export interface EventEnvelope {
  specversion: '1.0';
  id: string;
  /** URI-reference of the sending system, e.g. /agencies/H21.17/igate. */
  source: string;
  /** RFC 3339 with offset, exactly as the sender wrote it. */
  time: string;
  /** The dossier code; always equals data.dossierCode. */
  subject: string;
  dataschema?: string;
  /** CloudEvents extension attributes, in their canonical string form. */
  extensions?: Record<string, string>;
}

export type DossierEventOf<T extends EventType> = EventEnvelope & { type: T; data: EventDataOf<T> };
export type DossierEvent = { [T in EventType]: DossierEventOf<T> }[EventType];
export type DossierEventByName<N extends EventName> = DossierEventOf<`vn.gov.tthc.dossier.${N}`>;
