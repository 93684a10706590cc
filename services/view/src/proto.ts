/**
 * iocbus.indicators.v1 loaded once with @grpc/proto-loader (the same options as the rest of iocbus), and the
 * mapping between the view's model and the proto messages.
 */
import * as protoLoader from '@grpc/proto-loader';
import { INDICATORS, type IndicatorDef, type ScopeKind, type ValueWindow } from '@iocbus/engine';
import { PROTO_DIR, PROTO_LOADER_OPTIONS } from '@iocbus/events';
import type { IndicatorFilter } from './filter.js';
import type { RemovedKey, ViewValue } from './model.js';

export const INDICATORS_PROTO_FILE = 'iocbus/indicators/v1/indicator_service.proto';
export const INDICATOR_SERVICE = 'iocbus.indicators.v1.IndicatorService';

let cached: protoLoader.PackageDefinition | undefined;

export function loadIndicatorsPackage(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(INDICATORS_PROTO_FILE, { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  return cached;
}

/** Serializer of one message type of the package (plain object in proto-loader shape → bytes). */
export function serializerOf(typeName: string): (obj: unknown) => Buffer {
  const def = loadIndicatorsPackage()[`iocbus.indicators.v1.${typeName}`] as protoLoader.MessageTypeDefinition<unknown, unknown> | undefined;
  if (def === undefined) throw new Error(`no message ${typeName} in ${INDICATORS_PROTO_FILE}`);
  return def.serialize as (obj: unknown) => Buffer;
}

const WINDOW_TO_PROTO: Record<ValueWindow, string> = {
  day: 'WINDOW_KIND_TODAY',
  month: 'WINDOW_KIND_MONTH',
  quarter: 'WINDOW_KIND_QUARTER',
  year: 'WINDOW_KIND_YEAR',
  rolling_1h: 'WINDOW_KIND_ROLLING_1H',
  now: 'WINDOW_KIND_NOW',
};
const WINDOW_FROM_PROTO = new Map<string, ValueWindow>(Object.entries(WINDOW_TO_PROTO).map(([k, v]) => [v, k as ValueWindow]));
const SCOPE_TO_PROTO: Record<ScopeKind, string> = {
  province: 'SCOPE_KIND_PROVINCE',
  unit: 'SCOPE_KIND_UNIT',
  procedure: 'SCOPE_KIND_PROCEDURE',
  sector: 'SCOPE_KIND_SECTOR',
  channel: 'SCOPE_KIND_CHANNEL',
};
const SCOPE_FROM_PROTO = new Map<string, ScopeKind>(Object.entries(SCOPE_TO_PROTO).map(([k, v]) => [v, k as ScopeKind]));
const UNIT_TO_PROTO = { count: 'VALUE_UNIT_COUNT', ratio: 'VALUE_UNIT_RATIO', hours: 'VALUE_UNIT_HOURS', points: 'VALUE_UNIT_POINTS' } as const;

export const windowToProto = (w: ValueWindow): string => WINDOW_TO_PROTO[w];

export function timestamp(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function msOfTimestamp(t: { seconds?: number | string; nanos?: number } | null | undefined): number | null {
  if (t === null || t === undefined) return null;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1_000_000);
}

export function toProtoValue(v: ViewValue): Record<string, unknown> {
  const w = v.window;
  const out: Record<string, unknown> = {
    indicatorId: v.indicator,
    window: {
      kind: WINDOW_TO_PROTO[w.kind],
      ...(w.startMs === null ? {} : { start: timestamp(w.startMs) }),
      ...(w.endMs === null ? {} : { end: timestamp(w.endMs) }),
      label: w.label,
      current: w.current,
    },
    scope: { kind: SCOPE_TO_PROTO[v.scope.kind], key: v.scope.code, unitGroup: v.scope.group ?? '', name: v.scope.name ?? '' },
    eventCount: v.eventCount,
    open: v.open,
    revised: v.revised,
    updatedAt: timestamp(v.updatedAtMs),
  };
  if (v.value !== null) out.value = v.value;
  if (v.numerator !== null) out.numerator = v.numerator;
  if (v.denominator !== null) out.denominator = v.denominator;
  if (v.maxPoints !== undefined) out.maxPoints = v.maxPoints;
  if (v.points !== undefined && v.points !== null) out.points = v.points;
  if (v.target !== undefined) out.target = v.target;
  return out;
}

export function toProtoKey(k: RemovedKey): Record<string, unknown> {
  return {
    indicatorId: k.indicator,
    window: { kind: WINDOW_TO_PROTO[k.window.kind] ?? 'WINDOW_KIND_UNSPECIFIED', label: k.window.label },
    scope: { kind: SCOPE_TO_PROTO[k.scope.kind] ?? 'SCOPE_KIND_UNSPECIFIED', key: k.scope.code },
  };
}

export function toProtoDefinition(d: IndicatorDef): Record<string, unknown> {
  const q = d.kind === 'ratio' || d.kind === 'one_minus_rates' ? d.qd766 : undefined;
  return {
    id: d.id,
    title: d.title,
    description: '',
    unit: UNIT_TO_PROTO[d.unit],
    rate: d.kind === 'ratio',
    gauge: d.kind === 'gauge',
    ...(q?.points === undefined ? {} : { maxPoints: q.points }),
    ...(q === undefined ? {} : { target: q.target }),
    windows: d.windows.map((w) => WINDOW_TO_PROTO[w]),
  };
}

export const indicatorDefinitions = (): Record<string, unknown>[] => INDICATORS.map(toProtoDefinition);

interface ProtoFilter {
  indicatorIds?: string[];
  windows?: (string | number)[];
  scopes?: { kind?: string | number; keys?: string[] }[];
  currentOnly?: boolean;
}

/** A request filter as the view's filter; unknown enum values become problems reported by compileFilter. */
export function filterFromProto(f: ProtoFilter | null | undefined): IndicatorFilter {
  if (f === null || f === undefined) return {};
  return {
    indicators: f.indicatorIds ?? [],
    windows: (f.windows ?? []).map((w) => WINDOW_FROM_PROTO.get(String(w)) ?? (String(w) as ValueWindow)),
    scopes: (f.scopes ?? []).map((s) => ({ kind: SCOPE_FROM_PROTO.get(String(s.kind)) ?? (String(s.kind) as ScopeKind), keys: s.keys ?? [] })),
    currentOnly: f.currentOnly === true,
  };
}
