/**
 * One dossier's whole life, planned at the moment it arrives: which events it will produce and when.
 * Planning up front (from the dossier's own generator) keeps every dossier independent of the others, so
 * the simulation stays deterministic however its clock is stepped.
 */
import type { Channel, EventName } from '@iocbus/events';
import { HOUR_MS, MINUTE_MS, type WorkCalendar } from './calendar.js';
import type { ProcedureProfile, SimulationProfile, UnitProfile } from './profile.js';
import type { Rng } from './rng.js';

export interface PlannedEvent {
  name: EventName;
  /** Event time (ms, whole seconds). */
  at: number;
  /** Type-specific data; the common fields are added when the event is built. */
  data: Record<string, unknown>;
}

export interface ResolvedUnit extends UnitProfile {
  source: string;
  group: 'department' | 'commune';
}

export interface ResolvedProcedure extends ProcedureProfile {
  sectorCode: string;
  fee: number;
  paperResultRequired: boolean;
}

export interface DossierPlanInput {
  code: string;
  unit: ResolvedUnit;
  procedure: ResolvedProcedure;
  channel: Channel;
  arrivalMs: number;
}

type Rates = SimulationProfile['rates'];

const INTAKE_REJECTION_REASONS = [
  'Thành phần hồ sơ không đầy đủ theo quy định',
  'Bản chụp giấy tờ không rõ nét, không đọc được',
  'Thông tin trên tờ khai không khớp với Cơ sở dữ liệu quốc gia về dân cư',
  'Hồ sơ nộp không đúng thẩm quyền giải quyết',
];
const SUPPLEMENT_NOTES = [
  'Bổ sung bản sao có chứng thực giấy tờ tùy thân',
  'Bổ sung sơ đồ, bản vẽ kèm theo',
  'Đề nghị bổ sung văn bản ủy quyền hợp lệ',
  'Bổ sung ý kiến của cơ quan liên quan',
];
const STOP_REASONS = ['Đối tượng không đủ điều kiện theo quy định', 'Có tranh chấp, khiếu nại đang được xem xét'];
const EXTENSION_REASONS = [
  'Thư xin lỗi (mẫu 04): cần xác minh thêm thông tin với cơ quan liên quan',
  'Thư xin lỗi (mẫu 04): hệ thống phần mềm gián đoạn, chậm luân chuyển hồ sơ',
];

const wholeSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** The life of one dossier, sorted by event time (ties keep lifecycle order). */
export function planDossier(input: DossierPlanInput, rates: Rates, cal: WorkCalendar, rng: Rng): PlannedEvent[] {
  const { unit, procedure, channel } = input;
  const events: PlannedEvent[] = [];
  const push = (name: EventName, at: number, data: Record<string, unknown>): number => {
    const t = wholeSecond(at);
    events.push({ name, at: t, data });
    return t;
  };
  const minutes = (spread: { median: number; sigma: number }): number => rng.logNormal(spread.median, spread.sigma) * MINUTE_MS;
  const online = channel === 'online';
  const applicantType = procedure.applicant === 'mixed' ? (rng.chance(0.5) ? 'business' : 'citizen') : procedure.applicant;
  const vneid = online && rng.chance(rates.vneidOnline);

  let receivedAt = input.arrivalMs;
  if (online) {
    push('submitted', input.arrivalMs, { channel, applicantType, vneidAuthenticated: vneid });
    // Online submissions wait in the one-stop shop's queue until an officer checks them in office hours.
    const intakeAt = cal.add(input.arrivalMs, minutes(rates.intakeDelayMinutes));
    if (rng.chance(rates.intakeRejected)) {
      push('intake_rejected', intakeAt, { reason: rng.pick(INTAKE_REJECTION_REASONS) });
      return sortByTime(events);
    }
    receivedAt = intakeAt;
  }
  receivedAt = wholeSecond(Math.max(receivedAt, input.arrivalMs + (online ? 1000 : 0)));

  const statutory = procedure.statutoryHours * HOUR_MS;
  const dueAt = cal.add(receivedAt, statutory);
  const outcome = rng.chance(rates.withdrawn) ? 'withdrawn' : rng.chance(rates.stopped) ? 'stopped' : 'resolved';
  const supplemented = outcome === 'resolved' && rng.chance(procedure.supplementRate);
  const secondRound = supplemented && rng.chance(rates.secondSupplement);
  const late = secondRound || !rng.chance(Math.max(0, unit.onTimeRate - procedure.latePenalty));
  const early = !late && rng.chance(procedure.earlyShare);

  // Office time of actual work from receipt to the end, pauses excluded.
  const lateWork = rng.logNormal(rates.lateWorkHours.median * Math.sqrt(procedure.statutoryHours / 8), rates.lateWorkHours.sigma) * HOUR_MS;
  const onTimeWork =
    procedure.typicalHours !== undefined
      ? Math.min(statutory * 0.98, Math.max(5 * MINUTE_MS, rng.logNormal(procedure.typicalHours, 0.6) * HOUR_MS))
      : statutory * (early ? rng.uniform(0.08, 0.6) : rng.uniform(0.6, 0.98));
  const work = late ? statutory + lateWork : onTimeWork;

  const components = planComponents(procedure, unit, online, rates, rng);
  push('received', receivedAt, {
    receivedAt,
    dueAt,
    channel,
    applicantType,
    statutoryHours: procedure.statutoryHours,
    paperResultRequired: procedure.paperResultRequired,
    feeRequired: procedure.fee > 0,
    vneidAuthenticated: vneid,
    populationDbUsed: rng.chance(rates.populationDb),
    components: components.list,
  });

  // Everything after receipt happens before the dossier ends; `endAt` is known once the plan is made.
  let endAt: number;
  const supplementEvents: { requestedAt: number; suppliedAt: number }[] = [];
  if (outcome === 'resolved') {
    let cursor = receivedAt;
    let done = 0;
    const rounds = supplemented ? (secondRound ? 2 : 1) : 0;
    for (let r = 0; r < rounds; r++) {
      const step = (work - done) * rng.uniform(0.15, 0.6);
      const requestedAt = wholeSecond(cal.add(cursor, step));
      const suppliedAt = wholeSecond(requestedAt + Math.max(10 * MINUTE_MS, rng.logNormal(rates.supplyDelayHours.median, rates.supplyDelayHours.sigma) * HOUR_MS));
      supplementEvents.push({ requestedAt, suppliedAt });
      done += step;
      cursor = suppliedAt;
    }
    endAt = wholeSecond(Math.max(cal.add(cursor, work - done), cursor + MINUTE_MS));
  } else {
    endAt = wholeSecond(Math.max(cal.add(receivedAt, statutory * rng.uniform(0.05, 0.8)), receivedAt + MINUTE_MS));
  }
  const beforeEnd = (t: number): number => Math.min(wholeSecond(t), endAt - 1000);

  if (procedure.transferTo !== undefined && procedure.transferTo !== unit.code) {
    push('transferred', beforeEnd(receivedAt + Math.max(MINUTE_MS, rng.logNormal(45, 0.7) * MINUTE_MS)), {
      fromUnitCode: unit.code,
      toUnitCode: procedure.transferTo,
      interAgency: true,
    });
  }
  if (components.missing.length > 0) {
    push('digitized', beforeEnd(receivedAt + Math.max(MINUTE_MS, minutes(rates.lateDigitizationMinutes))), { componentCodes: components.missing });
  }
  if (procedure.fee > 0) {
    const requestedAt = beforeEnd(receivedAt + (online ? 0 : minutes(rates.feeDelayMinutes)));
    push('fee_requested', requestedAt, { amount: procedure.fee });
    if (outcome === 'resolved') {
      const paidOnline = rng.chance(online ? rates.paidOnlineWhenOnline : rates.paidOnlineWhenOffline);
      const method = paidOnline ? (rng.chance(rates.nationalPortalShareOfOnlinePayments) ? 'national_portal' : 'local_gateway') : 'offline';
      const paidAt = Math.max(requestedAt, beforeEnd(requestedAt + Math.max(30_000, minutes(rates.payDelayMinutes))));
      push('fee_paid', paidAt, { paidAt, amount: procedure.fee, method });
    }
  }
  const unitSynced = unit.syncedNational ?? rates.syncedNational;
  if (rng.chance(unitSynced)) {
    const syncedAt = wholeSecond(Math.min(receivedAt + Math.max(MINUTE_MS, minutes(rates.syncDelayMinutes)), endAt - 1000));
    push('synced_national', syncedAt, { syncedAt });
  }

  for (const round of supplementEvents) {
    push('supplement_requested', round.requestedAt, { requestedAt: round.requestedAt, note: rng.pick(SUPPLEMENT_NOTES) });
    const pausedMs = round.suppliedAt - round.requestedAt;
    push('supplement_received', round.suppliedAt, { suppliedAt: round.suppliedAt, newDueAt: dueAt + pausedMs });
  }
  if (late && outcome === 'resolved' && rng.chance(rates.extensionWhenLate)) {
    const at = wholeSecond(Math.min(Math.max(receivedAt + MINUTE_MS, dueAt - rng.logNormal(3, 0.6) * HOUR_MS), endAt - 1000));
    const newDueAt = cal.add(dueAt, Math.ceil((lateWork + 8 * HOUR_MS) / (8 * HOUR_MS)) * 8 * HOUR_MS);
    push('deadline_extended', at, { oldDueAt: dueAt, newDueAt, reason: rng.pick(EXTENSION_REASONS) });
  }

  if (outcome === 'withdrawn') {
    push('withdrawn', endAt, { withdrawnAt: endAt });
  } else if (outcome === 'stopped') {
    push('stopped', endAt, { stoppedAt: endAt, reason: rng.pick(STOP_REASONS) });
  } else {
    planResult(input, endAt, late, online, rates, cal, rng, push);
  }
  return sortByTime(events);
}

function planComponents(procedure: ResolvedProcedure, unit: ResolvedUnit, online: boolean, rates: Rates, rng: Rng) {
  const codes = procedure.components;
  // Online dossiers arrive as files; paper ones are scanned at the counter, and now and then not all of them.
  const allDigitized = online || rng.chance(unit.digitizedAtIntakeOffline ?? rates.digitizedAtIntakeOffline);
  const missing = new Set<string>();
  if (!allDigitized) {
    for (const c of codes) if (rng.chance(0.5)) missing.add(c);
    if (missing.size === 0) missing.add(rng.pick(codes));
  }
  const reusedAt = rng.chance(rates.reusedComponent) ? rng.int(0, codes.length - 1) : -1;
  const storeAt = online && rng.chance(rates.personalStoreOnline) ? rng.int(0, codes.length - 1) : -1;
  const list = codes.map((code, i) => ({
    code,
    digitized: !missing.has(code),
    reused: i === reusedAt,
    fromPersonalStore: i === storeAt,
  }));
  return { list, missing: codes.filter((c) => missing.has(c)) };
}

function planResult(
  input: DossierPlanInput,
  resolvedAt: number,
  late: boolean,
  online: boolean,
  rates: Rates,
  cal: WorkCalendar,
  rng: Rng,
  push: (name: EventName, at: number, data: Record<string, unknown>) => number,
): void {
  const { procedure, channel } = input;
  push('resolved', resolvedAt, { resolvedAt });
  const electronic = rng.chance(procedure.paperResultRequired ? rates.electronicResultPaperRequired : rates.electronicResultNoPaper);
  const issuedAt = resolvedAt + rng.int(1, 20) * MINUTE_MS;
  const issued: Record<string, unknown> = { electronic };
  if (electronic) {
    issued.resultFileUrl = `https://dvc.h21.example/ket-qua/${encodeURIComponent(input.code)}.pdf`;
    issued.syncedToCitizenStore = rng.chance(0.6);
  }
  push('result_issued', issuedAt, issued);

  let ratedFrom = issuedAt;
  if (rng.chance(rates.resultReturned)) {
    const method = electronic && (online || !procedure.paperResultRequired) ? 'electronic' : channel === 'postal' ? 'postal' : 'direct';
    const returnedAt = wholeSecond(
      method === 'electronic'
        ? issuedAt + rng.int(1, 10) * MINUTE_MS
        : method === 'postal'
          ? cal.add(issuedAt, rng.uniform(4, 16) * HOUR_MS)
          : cal.nextOpen(issuedAt + rng.logNormal(rates.pickupDelayHours.median, rates.pickupDelayHours.sigma) * HOUR_MS),
    );
    ratedFrom = push('result_returned', returnedAt, { returnedAt, method });
  }
  if (rng.chance(online ? rates.ratedOnline : rates.ratedOffline)) {
    const rating = late && rng.chance(rates.dissatisfiedWhenLate) ? 'dissatisfied' : rng.weighted(rates.ratings);
    push('rated', ratedFrom + rng.int(1, online ? 180 : 5) * MINUTE_MS, { rating });
  }
}

function sortByTime(events: PlannedEvent[]): PlannedEvent[] {
  // Array.prototype.sort is stable, so events at the same second keep the order they were planned in.
  return events.sort((a, b) => a.at - b.at);
}

/** Data fields planned as instants (ms); the event builder writes them as RFC 3339 text. */
export const TIME_FIELDS: ReadonlySet<string> = new Set([
  'receivedAt',
  'dueAt',
  'requestedAt',
  'suppliedAt',
  'newDueAt',
  'paidAt',
  'oldDueAt',
  'withdrawnAt',
  'stoppedAt',
  'resolvedAt',
  'returnedAt',
  'syncedAt',
]);
