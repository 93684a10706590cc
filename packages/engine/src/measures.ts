/**
 * The fact vocabulary every partial carries: one number per measure. Indicators (indicators.ts) are
 * declared as functions of these measures, so adding an indicator over existing facts is adding a catalog
 * entry. Append-only: the index of a measure is part of the partial and snapshot formats.
 *
 * Each measure belongs to a family, which says which timestamp decides its window (SPEC §2):
 *  - `received`: the dossier's receivedAt (received, channel shares, digitization, supplement, …)
 *  - `ended`:    the dossier's endAt (resolved_*, on-time splits, e-result, processing time)
 *  - `fee`:      the dossier's fee request time (payment rates)
 *  - `rating`:   the dossier's (latest) rating time
 *  - `event`:    the time of the counted event itself (intake_rejected, withdrawn, stopped, extensions)
 *  - `now`:      gauges, held only in the `now` window
 */
export const MEASURES = [
  // received family (window of receivedAt)
  'received',
  'channel_direct',
  'channel_online',
  'channel_postal',
  'digitized_at_intake',
  'supplement_requested',
  'online_766',
  'digitized_766',
  'reused_component',
  'personal_store_component',
  'population_db_or_vneid',
  'synced_national',
  'events_received_family',
  // ended family (window of endAt)
  'ended',
  'ended_on_time',
  'resolved',
  'resolved_early',
  'resolved_on_time',
  'resolved_late',
  'resolved_e_result',
  'resolved_paper_required',
  'resolved_paper_required_e_result',
  'processing_seconds_sum',
  'events_ended_family',
  // fee family (window of the fee request)
  'fee_requested',
  'fee_requested_paid_online',
  'fee_nonzero',
  'fee_nonzero_paid_online',
  // rating family
  'rated',
  'rated_dissatisfied',
  // event family
  'intake_rejected',
  'withdrawn',
  'stopped',
  'extensions',
  // gauges (now)
  'in_process',
  'in_process_overdue',
  'in_process_within_due',
] as const;

export type MeasureName = (typeof MEASURES)[number];
export const MEASURE_COUNT = MEASURES.length;

const INDEX = new Map<string, number>(MEASURES.map((m, i) => [m, i]));

export function measureIndex(name: MeasureName): number {
  return INDEX.get(name) as number;
}

/** Index constants for the hot path (same order as MEASURES). */
export const M = {
  received: 0,
  channelDirect: 1,
  reusedComponent: 8,
  syncedNational: 11,
  evR: 12,
  ended: 13,
  resolved: 15,
  procSum: 22,
  evE: 23,
  feeRequested: 24,
  rated: 28,
  intakeRejected: 30,
  withdrawn: 31,
  stopped: 32,
  extensions: 33,
  inProcess: 34,
  inProcessOverdue: 35,
  inProcessWithinDue: 36,
} as const;

// Bit masks per family; bit i of a family mask is measure (family base + i).
export const R_BASE = 0;
export const E_BASE = 13;
export const F_BASE = 24;
export const RAT_BASE = 28;
export const G_BASE = 34;
