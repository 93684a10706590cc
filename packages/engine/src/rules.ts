/**
 * SPEC §2 dossier lifecycle rules, as functions of one dossier's compact state (store.ts). Every function
 * here depends only on the *set* of events a dossier has seen, never on their arrival order, which is what
 * makes the engine's results order-independent.
 *
 *  - ended = first by priority of resolved › result_returned › stopped › withdrawn; among several events of
 *    the winning kind, the earliest time. endAt = that event's business time (resolvedAt, returnedAt, …).
 *  - paused = Σ (supplied − requested) over supplement rounds, the i-th request (by time) paired with the
 *    i-th supply; a round still open pauses from its requestedAt on (to endAt for an ended dossier).
 *  - on time ⇔ ≤ 1 supplement request ∧ endAt − paused ≤ dueAt;
 *    early ⇔ on time ∧ local date(endAt − paused) < local date(dueAt). deadline_extended never moves dueAt.
 *  - overdue now ⇔ received ∧ not ended ∧ no round open ∧ now − paused > dueAt.
 */
import {
  END_NONE,
  END_RESOLVED,
  END_RETURNED,
  F_CHANNEL,
  F_DIGIT_ALL,
  F_DIGIT_INTAKE,
  F_ERESULT,
  F_FEE_NONZERO,
  F_FEE_REQ,
  F_HAS_COMP,
  F_HAS_RECV,
  F_PAID_ONLINE,
  F_PAPER,
  F_PERSONAL,
  F_POPDB,
  F_REUSED,
  F_SYNCED,
  F_VNEID_RECV,
  F_VNEID_SUB,
  D_DUE_AT,
  D_END_AT,
  D_END_KIND,
  D_FLAGS,
  D_RECV_AT,
  D_REQ1,
  D_REQ_N,
  D_SUP1,
  D_SUP_N,
  ROW,
  type DossierStore,
} from './store.js';
import { localDay } from './time.js';

/** Result slots of pauseOf, reused to keep the hot path allocation-free. */
export const pause = { closed: 0, openFrom: 0 };

export function pauseOf(s: DossierStore, idx: number): void {
  const reqN = s.d[idx * ROW + D_REQ_N] as number;
  const supN = s.d[idx * ROW + D_SUP_N] as number;
  if (reqN === 0) {
    pause.closed = 0;
    pause.openFrom = 0;
    return;
  }
  if (reqN === 1 && supN <= 1) {
    const r = s.d[idx * ROW + D_REQ1] as number;
    if (supN === 1) {
      pause.closed = Math.max(0, (s.d[idx * ROW + D_SUP1] as number) - r);
      pause.openFrom = 0;
    } else {
      pause.closed = 0;
      pause.openFrom = r;
    }
    return;
  }
  const rare = s.rare.get(idx);
  const reqs = rare?.reqs ?? [s.d[idx * ROW + D_REQ1] as number];
  const sups = rare?.sups ?? (supN === 1 ? [s.d[idx * ROW + D_SUP1] as number] : []);
  const pairs = Math.min(reqs.length, sups.length);
  let closed = 0;
  for (let i = 0; i < pairs; i++) closed += Math.max(0, (sups[i] as number) - (reqs[i] as number));
  pause.closed = closed;
  pause.openFrom = reqs.length > sups.length ? (reqs[sups.length] as number) : 0;
}

/** Received-family mask (bit i = measure R_BASE + i); 0 when the dossier has no `received`. */
export function receivedMask(s: DossierStore, idx: number): number {
  const f = s.d[idx * ROW + D_FLAGS] as number;
  if ((f & F_HAS_RECV) === 0) return 0;
  const ch = f & F_CHANNEL;
  const paperOk = (f & F_PAPER) === 0 || (f & F_ERESULT) !== 0;
  let m = 1 | (ch === 0 ? 0 : 1 << ch);
  if ((f & (F_HAS_COMP | F_DIGIT_INTAKE)) === (F_HAS_COMP | F_DIGIT_INTAKE)) m |= 1 << 4;
  if ((s.d[idx * ROW + D_REQ_N] as number) > 0) m |= 1 << 5;
  if (ch === 2 && paperOk) m |= 1 << 6;
  if ((f & (F_HAS_COMP | F_DIGIT_ALL)) === (F_HAS_COMP | F_DIGIT_ALL) && paperOk) m |= 1 << 7;
  if ((f & F_REUSED) !== 0) m |= 1 << 8;
  if ((f & F_PERSONAL) !== 0) m |= 1 << 9;
  if ((f & (F_POPDB | F_VNEID_RECV | F_VNEID_SUB)) !== 0) m |= 1 << 10;
  if ((f & F_SYNCED) !== 0) m |= 1 << 11;
  return m;
}

/** Ended-family result: mask (bit i = measure E_BASE + i) and processing seconds (-1 unless resolved). */
export const ended = { mask: 0, procSec: -1 };

export function endedOf(s: DossierStore, idx: number): void {
  const kind = s.d[idx * ROW + D_END_KIND] as number;
  const f = s.d[idx * ROW + D_FLAGS] as number;
  if (kind === END_NONE || (f & F_HAS_RECV) === 0) {
    ended.mask = 0;
    ended.procSec = -1;
    return;
  }
  const endAt = s.d[idx * ROW + D_END_AT] as number;
  const dueAt = s.d[idx * ROW + D_DUE_AT] as number;
  pauseOf(s, idx);
  const paused = pause.closed + (pause.openFrom !== 0 ? Math.max(0, endAt - pause.openFrom) : 0);
  const effEnd = endAt - paused;
  const onTime = (s.d[idx * ROW + D_REQ_N] as number) <= 1 && effEnd <= dueAt;
  let m = 1 | (onTime ? 2 : 0);
  if (kind === END_RESOLVED || kind === END_RETURNED) {
    const early = onTime && localDay(effEnd) < localDay(dueAt);
    const e = (f & F_ERESULT) !== 0;
    const paper = (f & F_PAPER) !== 0;
    m |= 4 | (early ? 8 : 0) | (onTime ? 16 : 32) | (e ? 64 : 0) | (paper ? 128 : 0) | (paper && e ? 256 : 0);
    ended.procSec = Math.max(0, endAt - (s.d[idx * ROW + D_RECV_AT] as number) - paused);
  } else {
    ended.procSec = -1;
  }
  ended.mask = m;
}

/** Fee-family mask (bit i = measure F_BASE + i). */
export function feeMask(f: number): number {
  const online = (f & F_PAID_ONLINE) !== 0;
  let m = 0;
  if ((f & F_FEE_REQ) !== 0) m |= 1 | (online ? 2 : 0);
  if ((f & F_FEE_NONZERO) !== 0) m |= 4 | (online ? 8 : 0);
  return m;
}

/** Gauge bits: 1 open, 2 overdue now, 4 open and within due (≤ 1 supplement request, not overdue). */
export const gauge = { bits: 0, deadline: 0 };

export function gaugeOf(s: DossierStore, idx: number, nowSec: number): void {
  const f = s.d[idx * ROW + D_FLAGS] as number;
  if ((f & F_HAS_RECV) === 0 || (s.d[idx * ROW + D_END_KIND] as number) !== END_NONE) {
    gauge.bits = 0;
    gauge.deadline = 0;
    return;
  }
  pauseOf(s, idx);
  const due = s.d[idx * ROW + D_DUE_AT] as number;
  const overdue = pause.openFrom === 0 && nowSec - pause.closed > due;
  gauge.bits = 1 | (overdue ? 2 : (s.d[idx * ROW + D_REQ_N] as number) <= 1 ? 4 : 0);
  // Becomes overdue at the first second after due + paused, unless a round is open (clock stopped).
  gauge.deadline = pause.openFrom === 0 && !overdue ? due + pause.closed + 1 : 0;
}
