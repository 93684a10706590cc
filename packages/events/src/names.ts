/**
 * The event catalog: every dossier event type of SPEC §1, its short name, the DVCQG status code it
 * corresponds to (null where the national portal has none) and its protobuf data message.
 */
export const TYPE_PREFIX = 'vn.gov.tthc.dossier.';

export const EVENT_NAMES = [
  'submitted',
  'received',
  'intake_rejected',
  'digitized',
  'transferred',
  'supplement_requested',
  'supplement_received',
  'fee_requested',
  'fee_paid',
  'deadline_extended',
  'withdrawn',
  'stopped',
  'resolved',
  'result_issued',
  'result_returned',
  'rated',
  'synced_national',
] as const;

export type EventName = (typeof EVENT_NAMES)[number];
export type EventType = `vn.gov.tthc.dossier.${EventName}`;

export const EVENT_TYPES: readonly EventType[] = EVENT_NAMES.map((n): EventType => `${TYPE_PREFIX}${n}`);

const TYPE_SET: ReadonlySet<string> = new Set(EVENT_TYPES);

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && TYPE_SET.has(value);
}

export function eventTypeOf(name: EventName): EventType {
  return `${TYPE_PREFIX}${name}`;
}

export function eventNameOf(type: EventType): EventName {
  return type.slice(TYPE_PREFIX.length) as EventName;
}

/** DVCQG (national public-service portal) dossier status codes, from SPEC §1. */
export const DVCQG_STATUS: Readonly<Record<EventName, number | null>> = {
  submitted: 1,
  received: 2,
  intake_rejected: 3,
  digitized: null,
  transferred: 4,
  supplement_requested: 5,
  supplement_received: 4,
  fee_requested: 6,
  fee_paid: null,
  deadline_extended: null,
  withdrawn: 7,
  stopped: 8,
  resolved: 9,
  result_issued: null,
  result_returned: 10,
  rated: null,
  synced_national: null,
};

/** Name of the protobuf data message (package iocbus.events.v1) carrying each type's data. */
export const PROTO_MESSAGE: Readonly<Record<EventName, string>> = {
  submitted: 'DossierSubmitted',
  received: 'DossierReceived',
  intake_rejected: 'DossierIntakeRejected',
  digitized: 'DossierDigitized',
  transferred: 'DossierTransferred',
  supplement_requested: 'DossierSupplementRequested',
  supplement_received: 'DossierSupplementReceived',
  fee_requested: 'DossierFeeRequested',
  fee_paid: 'DossierFeePaid',
  deadline_extended: 'DossierDeadlineExtended',
  withdrawn: 'DossierWithdrawn',
  stopped: 'DossierStopped',
  resolved: 'DossierResolved',
  result_issued: 'DossierResultIssued',
  result_returned: 'DossierResultReturned',
  rated: 'DossierRated',
  synced_national: 'DossierSyncedNational',
};
