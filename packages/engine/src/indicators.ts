/**
 * The indicator catalog of SPEC §2 as data. Each entry says how its value is computed from the measures of
 * one merged partial (measures.ts); `evaluate.ts` is the only interpreter. Adding an indicator over existing
 * facts is adding an entry here.
 *
 * Terms written `{ now: m }` read measure m from the `now` (gauge) partial of the same scope, and only when
 * the window being evaluated contains the evaluation time: Decision 766 §2.1 counts the dossiers still open
 * *now* next to those ended in the window, which is meaningful only for the current period.
 */
import type { MeasureName } from './measures.js';

/** Windows an indicator is reported for. `now` holds gauges; the others are calendar or rolling windows. */
export const VALUE_WINDOWS = ['day', 'month', 'quarter', 'year', 'rolling_1h', 'now'] as const;
export type ValueWindow = (typeof VALUE_WINDOWS)[number];

export type Term = MeasureName | { now: MeasureName };

/** Decision 766/QĐ-TTg scoring: `points × min(1, ratio ÷ target)`; no points ⇒ shown, but not scored. */
export interface Qd766 {
  points?: number;
  target: number;
}

interface Base {
  id: string;
  title: string;
  /** How the view should format the value. */
  unit: 'count' | 'ratio' | 'hours' | 'points';
  windows: readonly ValueWindow[];
  /** Measure whose value is reported as the number of events behind the indicator. */
  events: MeasureName;
}

export type IndicatorDef = Base &
  (
    | { kind: 'count'; measure: MeasureName }
    | { kind: 'gauge'; measure: MeasureName }
    | { kind: 'ratio'; num: readonly Term[]; den: readonly Term[]; qd766?: Qd766 }
    | { kind: 'quantile'; q: number; scale: number; count: MeasureName }
    | { kind: 'mean'; sum: MeasureName; count: MeasureName; scale: number }
    | {
        kind: 'one_minus_rates';
        /** A rate whose denominator is 0 counts as 0 unless `required`, which makes the value null. */
        rates: readonly { num: MeasureName; den: MeasureName; required: boolean }[];
        qd766?: Qd766;
      }
    | { kind: 'qd766_score' }
  );

const CAL = ['day', 'month', 'quarter', 'year', 'rolling_1h'] as const;
// Decision 766 scores are period assessments; an hour of data says nothing about them.
const PERIOD = ['day', 'month', 'quarter', 'year'] as const;
const NOW = ['now'] as const;
const HOURS = 1 / 3600;

const R = 'events_received_family' as const;
const E = 'events_ended_family' as const;

export const INDICATORS: readonly IndicatorDef[] = [
  { id: 'received', title: 'Dossiers received', unit: 'count', kind: 'count', measure: 'received', events: R, windows: CAL },
  { id: 'resolved', title: 'Dossiers resolved', unit: 'count', kind: 'count', measure: 'resolved', events: E, windows: CAL },
  { id: 'resolved_early', title: 'Resolved early', unit: 'count', kind: 'count', measure: 'resolved_early', events: E, windows: CAL },
  { id: 'resolved_on_time', title: 'Resolved on time (incl. early)', unit: 'count', kind: 'count', measure: 'resolved_on_time', events: E, windows: CAL },
  { id: 'resolved_late', title: 'Resolved late', unit: 'count', kind: 'count', measure: 'resolved_late', events: E, windows: CAL },
  { id: 'on_time_rate', title: 'On-time rate', unit: 'ratio', kind: 'ratio', num: ['resolved_on_time'], den: ['resolved'], events: E, windows: CAL },
  { id: 'in_process', title: 'In process now', unit: 'count', kind: 'gauge', measure: 'in_process', events: 'in_process', windows: NOW },
  { id: 'in_process_overdue', title: 'Overdue now', unit: 'count', kind: 'gauge', measure: 'in_process_overdue', events: 'in_process_overdue', windows: NOW },
  { id: 'online_share', title: 'Online share', unit: 'ratio', kind: 'ratio', num: ['channel_online'], den: ['received'], events: R, windows: CAL },
  { id: 'postal_share', title: 'Postal share', unit: 'ratio', kind: 'ratio', num: ['channel_postal'], den: ['received'], events: R, windows: CAL },
  { id: 'direct_share', title: 'Direct share', unit: 'ratio', kind: 'ratio', num: ['channel_direct'], den: ['received'], events: R, windows: CAL },
  { id: 'digitized_at_intake_rate', title: 'Digitized at intake', unit: 'ratio', kind: 'ratio', num: ['digitized_at_intake'], den: ['received'], events: R, windows: CAL },
  { id: 'e_result_rate', title: 'Electronic results', unit: 'ratio', kind: 'ratio', num: ['resolved_e_result'], den: ['resolved'], events: E, windows: CAL },
  { id: 'online_payment_rate', title: 'Paid online', unit: 'ratio', kind: 'ratio', num: ['fee_requested_paid_online'], den: ['fee_requested'], events: 'fee_requested', windows: CAL },
  { id: 'processing_hours_p50', title: 'Processing time p50', unit: 'hours', kind: 'quantile', q: 0.5, scale: HOURS, count: 'resolved', events: E, windows: CAL },
  { id: 'processing_hours_p90', title: 'Processing time p90', unit: 'hours', kind: 'quantile', q: 0.9, scale: HOURS, count: 'resolved', events: E, windows: CAL },
  { id: 'processing_hours_avg', title: 'Processing time mean', unit: 'hours', kind: 'mean', sum: 'processing_seconds_sum', count: 'resolved', scale: HOURS, events: E, windows: CAL },
  { id: 'supplement_rate', title: 'Supplement requested', unit: 'ratio', kind: 'ratio', num: ['supplement_requested'], den: ['received'], events: R, windows: CAL },
  { id: 'intake_rejected', title: 'Intake rejected', unit: 'count', kind: 'count', measure: 'intake_rejected', events: 'intake_rejected', windows: CAL },
  { id: 'withdrawn', title: 'Withdrawn', unit: 'count', kind: 'count', measure: 'withdrawn', events: 'withdrawn', windows: CAL },
  { id: 'stopped', title: 'Stopped', unit: 'count', kind: 'count', measure: 'stopped', events: 'stopped', windows: CAL },
  { id: 'extensions', title: 'Deadline extensions', unit: 'count', kind: 'count', measure: 'extensions', events: 'extensions', windows: CAL },
  { id: 'dissatisfied_rate', title: 'Dissatisfied', unit: 'ratio', kind: 'ratio', num: ['rated_dissatisfied'], den: ['rated'], events: 'rated', windows: CAL },
  {
    id: 'qd766.tdgq_2_1',
    title: 'QĐ 766 2.1 on-time processing',
    unit: 'ratio',
    kind: 'ratio',
    // (ended on time in the window + open and within due now) ÷ (ended in the window + open now).
    // "Within due" = open, not overdue now, and at most one supplement round (a second round already
    // makes the dossier late under Decision 766). Past windows see only their ended dossiers.
    num: ['ended_on_time', { now: 'in_process_within_due' }],
    den: ['ended', { now: 'in_process' }],
    qd766: { points: 20, target: 1 },
    events: E,
    windows: PERIOD,
  },
  {
    id: 'qd766.onl_3_3',
    title: 'QĐ 766 3.3 online dossiers',
    unit: 'ratio',
    kind: 'ratio',
    num: ['online_766'],
    den: ['received'],
    // SPEC gives the 50 % target but no points; add `points` here once the province confirms them.
    qd766: { target: 0.5 },
    events: R,
    windows: PERIOD,
  },
  { id: 'qd766.tttt_3_6', title: 'QĐ 766 3.6 online payment', unit: 'ratio', kind: 'ratio', num: ['fee_nonzero_paid_online'], den: ['fee_nonzero'], qd766: { points: 6, target: 1 }, events: 'fee_nonzero', windows: PERIOD },
  { id: 'qd766.mdsh_4_1', title: 'QĐ 766 4.1 electronic results', unit: 'ratio', kind: 'ratio', num: ['resolved_paper_required_e_result'], den: ['resolved_paper_required'], qd766: { points: 6, target: 1 }, events: E, windows: PERIOD },
  { id: 'qd766.mdsh_4_2', title: 'QĐ 766 4.2 digitized dossiers', unit: 'ratio', kind: 'ratio', num: ['digitized_766'], den: ['received'], qd766: { points: 4, target: 1 }, events: R, windows: PERIOD },
  { id: 'qd766.mdsh_4_3', title: 'QĐ 766 4.3 reused data', unit: 'ratio', kind: 'ratio', num: ['reused_component'], den: ['received'], qd766: { points: 2, target: 0.8 }, events: R, windows: PERIOD },
  { id: 'qd766.mdsh_4_4', title: "QĐ 766 4.4 citizen's data store", unit: 'ratio', kind: 'ratio', num: ['personal_store_component'], den: ['received'], qd766: { points: 4, target: 1 }, events: R, windows: PERIOD },
  { id: 'qd766.mdsh_4_5b', title: 'QĐ 766 4.5b population DB / VNeID', unit: 'ratio', kind: 'ratio', num: ['population_db_or_vneid'], den: ['received'], qd766: { points: 2, target: 1 }, events: R, windows: PERIOD },
  {
    id: 'qd766.mdhl_5_4',
    title: 'QĐ 766 5.4 satisfaction',
    unit: 'ratio',
    kind: 'one_minus_rates',
    // 100 % − (late rate + dissatisfied rate). Without resolved dossiers there is nothing to judge (null);
    // a period without ratings has a dissatisfied rate of 0.
    rates: [
      { num: 'resolved_late', den: 'resolved', required: true },
      { num: 'rated_dissatisfied', den: 'rated', required: false },
    ],
    qd766: { points: 6, target: 0.9 },
    events: E,
    windows: PERIOD,
  },
  { id: 'qd766.ckmb_1_4', title: 'QĐ 766 1.4 synced to the national portal', unit: 'ratio', kind: 'ratio', num: ['synced_national'], den: ['received'], qd766: { points: 6, target: 1 }, events: R, windows: PERIOD },
  { id: 'qd766.score', title: 'QĐ 766 score', unit: 'points', kind: 'qd766_score', events: R, windows: PERIOD },
];

export function indicatorById(id: string, catalog: readonly IndicatorDef[] = INDICATORS): IndicatorDef | undefined {
  return catalog.find((d) => d.id === id);
}
