/**
 * How each event type changes one dossier's compact state (store.ts). Only state changes here: what the
 * state means for the indicators is rules.ts, and turning state changes into cell updates is engine.ts.
 * Every change is order-free: a later-arriving event never loses to an earlier-arriving one by position
 * alone (earliest times win, flags only accumulate, ties are broken by value or fingerprint).
 */
import type { Catalog } from '@iocbus/catalog';
import { EVENT_TYPES, TYPE_PREFIX, toEpochMs, type DossierEvent } from '@iocbus/events';
import { hashCode } from './hash.js';
import { daysFromCivil } from './time.js';
import {
  END_NONE,
  END_RESOLVED,
  END_RETURNED,
  END_STOPPED,
  END_WITHDRAWN,
  F_BUSINESS,
  F_CHANNEL,
  F_DIGIT_ALL,
  F_DIGIT_INTAKE,
  F_ERESULT,
  F_FEE_ANY,
  F_FEE_NONZERO,
  F_FEE_REQ,
  F_HAS_COMP,
  F_HAS_RECV,
  F_PAID_ONLINE,
  F_PAPER,
  F_PERSONAL,
  F_POPDB,
  F_RARE,
  F_RATED,
  F_RATING,
  F_RATING_SHIFT,
  F_REUSED,
  F_SYNCED,
  F_VNEID_RECV,
  F_VNEID_SUB,
  D_COMBO,
  D_DUE_AT,
  D_END_AT,
  D_END_KIND,
  D_FEE_AT,
  D_FLAGS,
  D_RATE_AT,
  D_RECV_AT,
  D_RECV_FP,
  D_REQ1,
  D_REQ_N,
  D_SUP1,
  D_SUP_N,
  ROW,
  type DossierStore,
} from './store.js';

// Event type → small integer for the dispatch switch.
export const T_SUBMITTED = 0;
export const T_RECEIVED = 1;
export const T_INTAKE_REJECTED = 2;
export const T_DIGITIZED = 3;
export const T_TRANSFERRED = 4;
export const T_SUPP_REQ = 5;
export const T_SUPP_RECV = 6;
export const T_FEE_REQ = 7;
export const T_FEE_PAID = 8;
export const T_EXTENDED = 9;
export const T_WITHDRAWN = 10;
export const T_STOPPED = 11;
export const T_RESOLVED = 12;
export const T_RESULT_ISSUED = 13;
export const T_RETURNED = 14;
export const T_RATED = 15;
export const T_SYNCED = 16;
// The T_* codes above are indices into the events package's catalog order (lifecycle.test.ts checks it).
const TYPE_NAMES: readonly string[] = EVENT_TYPES;

/**
 * Type string → code without hashing the (fresh, 25-40 character) string: a table keyed by its length and
 * the first character after the prefix, then one comparison to confirm. Where two types share the key the
 * slot holds -2 and a Map decides.
 */
const P = TYPE_PREFIX.length;
const TYPE_TABLE = new Int8Array(64 * 128).fill(-1);
const TYPE_CODE = new Map<string, number>(TYPE_NAMES.map((t, i) => [t, i]));
for (const [i, t] of TYPE_NAMES.entries()) {
  const k = t.length * 128 + t.charCodeAt(P);
  TYPE_TABLE[k] = TYPE_TABLE[k] === -1 ? i : -2;
}

export function typeCode(type: string): number {
  const k = type.length * 128 + type.charCodeAt(P);
  const c = k < TYPE_TABLE.length ? (TYPE_TABLE[k] as number) : -1;
  if (c >= 0) return type === TYPE_NAMES[c] ? c : -1;
  return c === -2 ? (TYPE_CODE.get(type) ?? -1) : -1;
}

const CHANNEL_CODE: Record<string, number> = { direct: 1, online: 2, postal: 3 };
export const CHANNEL_NAMES = ['', 'direct', 'online', 'postal'] as const;
const RATING_CODE: Record<string, number> = { satisfied: 0, neutral: 1, dissatisfied: 2 };

const MAX_SEC = 0xffff_ffff;

/** Epoch seconds of an RFC 3339 string; 0 ("absent") for anything unusable, so state stays in Uint32. */
export function toSec(s: string): number {
  const fast = fixedShapeSec(s);
  if (fast === fast) return fast >= 1 && fast < MAX_SEC ? fast : 0;
  const ms = toEpochMs(s);
  return ms >= 1000 && ms < MAX_SEC * 1000 ? Math.floor(ms / 1000) : 0;
}

// Day number of the last date seen by fixedShapeSec: events come roughly in time order, so most share it.
let lastDateKey = -1;
let lastDays = 0;

/**
 * Epoch seconds of the one shape agency systems send, `YYYY-MM-DDThh:mm:ss±hh:mm` (25 characters, no
 * fraction), or NaN for any other string (toSec then takes toEpochMs's general path). Same arithmetic as
 * toEpochMs, but the date's day number is computed once per date rather than per timestamp, and there is
 * no fraction or suffix scanning. time.test.ts checks it equals toEpochMs on every string of the shape.
 */
export function fixedShapeSec(s: string): number {
  if (s.length !== 25) return NaN;
  const sign = s.charCodeAt(19);
  if ((sign !== 43 && sign !== 45) || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(22) !== 58) return NaN;
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 116) return NaN;
  const y = dig(s, 0) * 1000 + dig(s, 1) * 100 + dig(s, 2) * 10 + dig(s, 3);
  const mo = dig(s, 5) * 10 + dig(s, 6);
  const d = dig(s, 8) * 10 + dig(s, 9);
  const h = dig(s, 11) * 10 + dig(s, 12);
  const mi = dig(s, 14) * 10 + dig(s, 15);
  const sec = dig(s, 17) * 10 + dig(s, 18);
  const oh = dig(s, 20) * 10 + dig(s, 21);
  const om = dig(s, 23) * 10 + dig(s, 24);
  // A non-digit makes its dig() negative enough to make the sum negative: below every real field value.
  if ((y | mo | d | h | mi | sec | oh | om) < 0) return NaN;
  const key = y * 10_000 + mo * 100 + d;
  if (key !== lastDateKey) {
    lastDays = daysFromCivil(y, mo, d);
    lastDateKey = key;
  }
  const offsetMin = (sign === 45 ? -1 : 1) * (oh * 60 + om);
  return ((lastDays * 24 + h) * 60 + mi - offsetMin) * 60 + sec;
}

/** Digit value at i, or a large negative number for anything else. */
function dig(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -100_000;
}

function insertSorted(list: number[], v: number): void {
  let i = list.length;
  while (i > 0 && (list[i - 1] as number) > v) i--;
  list.splice(i, 0, v);
}

/** What the lifecycle needs from the engine that owns it. */
export interface LifecycleHost {
  readonly catalog: Catalog;
  /** Interned scope combination of a dossier's (unit, procedure, sector, channel); channel 0 = none. */
  comboFor(unit: string, procedure: string, sector: string | undefined, channel: number): number;
  /** Counts one intake rejection at tSec in the event's own scopes. */
  countIntakeRejected(tSec: number, combo: number): void;
}

export class Lifecycle {
  constructor(
    public store: DossierStore,
    private readonly host: LifecycleHost,
  ) {}

  /** Changes the dossier's state for one event. Returns the time of a new extension fact, else 0. */
  mutate(idx: number, type: number, ev: DossierEvent, fp: number): number {
    const s = this.store;
    switch (type) {
      case T_SUBMITTED: {
        const d = (ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.submitted' }>).data;
        if (d.vneidAuthenticated === true) s.d[idx * ROW + D_FLAGS] = (s.d[idx * ROW + D_FLAGS] as number) | F_VNEID_SUB;
        return 0;
      }
      case T_RECEIVED:
        this.received(idx, ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.received' }>, fp);
        return 0;
      case T_INTAKE_REJECTED: {
        // Counted with the event's own unit/procedure: an intake-rejected dossier has no `received`.
        const d = ev.data;
        const t = toSec(d.occurredAt);
        this.host.countIntakeRejected(t, this.host.comboFor(d.unitCode, d.procedureCode, d.sectorCode, 0));
        return 0;
      }
      case T_DIGITIZED: {
        const d = (ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.digitized' }>).data;
        const r = s.getRare(idx);
        const digit = (r.digit ??= []);
        for (const c of d.componentCodes) {
          const h = hashCode(c);
          if (!digit.includes(h)) digit.push(h);
        }
        this.refreshDigitAll(idx);
        return 0;
      }
      case T_TRANSFERRED:
        // Transfers do not move a dossier's scopes (SPEC §2).
        return 0;
      case T_SUPP_REQ:
        this.supplement(idx, toSec((ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.supplement_requested' }>).data.requestedAt), true);
        return 0;
      case T_SUPP_RECV:
        // newDueAt is the agency's own recomputation; SPEC §2 measures against dueAt minus paused time.
        this.supplement(idx, toSec((ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.supplement_received' }>).data.suppliedAt), false);
        return 0;
      case T_FEE_REQ: {
        const d = (ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.fee_requested' }>).data;
        const t = toSec(d.occurredAt);
        let f = s.d[idx * ROW + D_FLAGS] as number;
        // The fee window is the (earliest) request's time; a payment seen first only holds the place.
        s.d[idx * ROW + D_FEE_AT] = (f & F_FEE_REQ) !== 0 ? Math.min(s.d[idx * ROW + D_FEE_AT] as number, t) : t;
        f |= F_FEE_REQ | F_FEE_ANY;
        if (d.amount > 0) f |= F_FEE_NONZERO;
        s.d[idx * ROW + D_FLAGS] = f;
        return 0;
      }
      case T_FEE_PAID: {
        const d = (ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.fee_paid' }>).data;
        let f = s.d[idx * ROW + D_FLAGS] as number;
        if ((f & F_FEE_REQ) === 0) {
          const t = toSec(d.paidAt);
          s.d[idx * ROW + D_FEE_AT] = (f & F_FEE_ANY) !== 0 ? Math.min(s.d[idx * ROW + D_FEE_AT] as number, t) : t;
        }
        f |= F_FEE_ANY;
        if (d.method !== 'offline') f |= F_PAID_ONLINE;
        if (d.amount > 0) f |= F_FEE_NONZERO;
        s.d[idx * ROW + D_FLAGS] = f;
        return 0;
      }
      case T_EXTENDED: {
        const t = toSec(ev.data.occurredAt);
        (s.getRare(idx).exts ??= []).push(t);
        return t;
      }
      case T_WITHDRAWN: {
        const t = toSec((ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.withdrawn' }>).data.withdrawnAt);
        const r = s.getRare(idx);
        if (r.withdrawnAt === undefined || t < r.withdrawnAt) r.withdrawnAt = t;
        this.endCandidate(idx, END_WITHDRAWN, t);
        return 0;
      }
      case T_STOPPED: {
        const t = toSec((ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.stopped' }>).data.stoppedAt);
        const r = s.getRare(idx);
        if (r.stoppedAt === undefined || t < r.stoppedAt) r.stoppedAt = t;
        this.endCandidate(idx, END_STOPPED, t);
        return 0;
      }
      case T_RESOLVED:
        this.endCandidate(idx, END_RESOLVED, toSec((ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.resolved' }>).data.resolvedAt));
        return 0;
      case T_RESULT_ISSUED:
        if ((ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.result_issued' }>).data.electronic) s.d[idx * ROW + D_FLAGS] = (s.d[idx * ROW + D_FLAGS] as number) | F_ERESULT;
        return 0;
      case T_RETURNED:
        this.endCandidate(idx, END_RETURNED, toSec((ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.result_returned' }>).data.returnedAt));
        return 0;
      case T_RATED: {
        const d = (ev as Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.rated' }>).data;
        const t = toSec(d.occurredAt);
        const code = RATING_CODE[d.rating] ?? 0;
        const f = s.d[idx * ROW + D_FLAGS] as number;
        const cur = (f & F_RATING) >>> F_RATING_SHIFT;
        const at = s.d[idx * ROW + D_RATE_AT] as number;
        // The latest rating counts; on a tie of times the less favourable one, so the order never matters.
        if ((f & F_RATED) === 0 || t > at || (t === at && code > cur)) {
          s.d[idx * ROW + D_RATE_AT] = t;
          s.d[idx * ROW + D_FLAGS] = (f & ~F_RATING) | F_RATED | (code << F_RATING_SHIFT);
        }
        return 0;
      }
      case T_SYNCED:
        s.d[idx * ROW + D_FLAGS] = (s.d[idx * ROW + D_FLAGS] as number) | F_SYNCED;
        return 0;
      default:
        return 0;
    }
  }

  private received(idx: number, ev: Extract<DossierEvent, { type: 'vn.gov.tthc.dossier.received' }>, fp: number): void {
    const s = this.store;
    const d = ev.data;
    const t = toSec(d.receivedAt);
    let f = s.d[idx * ROW + D_FLAGS] as number;
    // Several distinct `received` for one dossier: the earliest wins (fingerprint breaks ties), so the
    // choice does not depend on arrival order.
    if ((f & F_HAS_RECV) !== 0) {
      const cur = s.d[idx * ROW + D_RECV_AT] as number;
      if (t > cur || (t === cur && fp >= (s.d[idx * ROW + D_RECV_FP] as number))) return;
    }
    s.d[idx * ROW + D_RECV_AT] = t;
    s.d[idx * ROW + D_RECV_FP] = fp;
    s.d[idx * ROW + D_DUE_AT] = toSec(d.dueAt);
    const channel = CHANNEL_CODE[d.channel] ?? 0;
    s.d[idx * ROW + D_COMBO] = this.host.comboFor(d.unitCode, d.procedureCode, d.sectorCode, channel);
    f &= ~(F_CHANNEL | F_BUSINESS | F_PAPER | F_VNEID_RECV | F_POPDB | F_REUSED | F_PERSONAL | F_HAS_COMP | F_DIGIT_INTAKE);
    f |= F_HAS_RECV | channel;
    if (d.applicantType === 'business') f |= F_BUSINESS;
    const paper = d.paperResultRequired ?? this.host.catalog.procedure(d.procedureCode)?.paperResultRequired ?? false;
    if (paper) f |= F_PAPER;
    if (d.vneidAuthenticated === true) f |= F_VNEID_RECV;
    if (d.populationDbUsed === true) f |= F_POPDB;
    let undigit: number[] | undefined;
    const comps = d.components;
    if (comps !== undefined && comps.length > 0) {
      f |= F_HAS_COMP;
      let all = true;
      for (const c of comps) {
        if (c.reused === true) f |= F_REUSED;
        if (c.fromPersonalStore === true) f |= F_PERSONAL;
        if (!c.digitized) {
          all = false;
          (undigit ??= []).push(hashCode(c.code));
        }
      }
      if (all) f |= F_DIGIT_INTAKE;
    }
    s.d[idx * ROW + D_FLAGS] = f;
    if (undigit !== undefined) s.getRare(idx).undigit = undigit;
    else if ((f & F_RARE) !== 0) {
      // F_RARE says whether the side map has an entry: most dossiers have none, and skip the Map look-up.
      const r = s.rare.get(idx);
      if (r !== undefined) delete r.undigit;
    }
    this.refreshDigitAll(idx);
  }

  /** F_DIGIT_ALL ⇔ every component not digitized at intake was named by a later `digitized` event. */
  private refreshDigitAll(idx: number): void {
    const s = this.store;
    let f = s.d[idx * ROW + D_FLAGS] as number;
    let all = (f & F_HAS_COMP) !== 0;
    if (all && (f & F_RARE) !== 0) {
      const r = s.rare.get(idx);
      const undigit = r?.undigit;
      if (undigit !== undefined) {
        const digit = r?.digit;
        for (const h of undigit) {
          if (digit === undefined || !digit.includes(h)) {
            all = false;
            break;
          }
        }
      }
    }
    f = all ? f | F_DIGIT_ALL : f & ~F_DIGIT_ALL;
    s.d[idx * ROW + D_FLAGS] = f;
  }

  private supplement(idx: number, t: number, request: boolean): void {
    const s = this.store;
    const d = s.d;
    const o = idx * ROW;
    const countAt = o + (request ? D_REQ_N : D_SUP_N);
    const firstAt = o + (request ? D_REQ1 : D_SUP1);
    const n = d[countAt] as number;
    if (n >= 255) return;
    if (n >= 1) {
      const r = s.getRare(idx);
      let list = request ? r.reqs : r.sups;
      if (list === undefined) {
        list = [d[firstAt] as number];
        if (request) r.reqs = list;
        else r.sups = list;
      }
      insertSorted(list, t);
      if (t < (d[firstAt] as number)) d[firstAt] = t;
    } else {
      d[firstAt] = t;
    }
    d[countAt] = n + 1;
  }

  private endCandidate(idx: number, kind: number, t: number): void {
    const s = this.store;
    const cur = s.d[idx * ROW + D_END_KIND] as number;
    if (cur === END_NONE || kind < cur || (kind === cur && t < (s.d[idx * ROW + D_END_AT] as number))) {
      s.d[idx * ROW + D_END_KIND] = kind;
      s.d[idx * ROW + D_END_AT] = t;
    }
  }
}
