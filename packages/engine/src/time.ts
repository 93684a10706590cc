/**
 * Calendar windows in Asia/Ho_Chi_Minh. Vietnam has kept UTC+07:00 without daylight saving since 1975, so
 * local calendar math is plain integer arithmetic on epoch seconds shifted by 7 h — no tz database needed.
 * Everything here works in whole seconds since the epoch; the public API converts to milliseconds.
 */
export const VN_OFFSET_SEC = 7 * 3600;
const DAY_SEC = 86_400;

export const WINDOW_KINDS = ['minute', 'day', 'month', 'quarter', 'year', 'now'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];
/** Numeric codes used in binary encodings and arrays; order of WINDOW_KINDS. */
export const enum WK {
  Minute = 0,
  Day = 1,
  Month = 2,
  Quarter = 3,
  Year = 4,
  Now = 5,
}

// H. Hinnant, "chrono-Compatible Low-Level Date Algorithms" (proleptic Gregorian, any year).
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Year and month (1-12) of a day number (days since 1970-01-01). */
export function civilYearMonth(days: number): { y: number; m: number; d: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: era * 400 + yoe + (m <= 2 ? 1 : 0), m, d };
}

/** Local (UTC+7) day number of an epoch second. */
export function localDay(tSec: number): number {
  return Math.floor((tSec + VN_OFFSET_SEC) / DAY_SEC);
}

/** Index of the window of `kind` holding epoch second `tSec`. Month index = y*12+m-1, quarter = y*4+q-1. */
export function windowIndex(kind: WK, tSec: number): number {
  if (kind === WK.Minute) return Math.floor(tSec / 60);
  const day = localDay(tSec);
  if (kind === WK.Day) return day;
  const { y, m } = civilYearMonth(day);
  if (kind === WK.Month) return y * 12 + m - 1;
  if (kind === WK.Quarter) return y * 4 + Math.floor((m - 1) / 3);
  if (kind === WK.Year) return y;
  return 0;
}

/** First epoch second of window `index` of `kind` ('now' has no extent: 0). */
export function windowStart(kind: WK, index: number): number {
  switch (kind) {
    case WK.Minute:
      return index * 60;
    case WK.Day:
      return index * DAY_SEC - VN_OFFSET_SEC;
    case WK.Month:
      return daysFromCivil(Math.floor(index / 12), (index % 12) + 1, 1) * DAY_SEC - VN_OFFSET_SEC;
    case WK.Quarter:
      return daysFromCivil(Math.floor(index / 4), (index % 4) * 3 + 1, 1) * DAY_SEC - VN_OFFSET_SEC;
    case WK.Year:
      return daysFromCivil(index, 1, 1) * DAY_SEC - VN_OFFSET_SEC;
    default:
      return 0;
  }
}

/** First epoch second after window `index` ('now': 0). */
export function windowEnd(kind: WK, index: number): number {
  return kind === WK.Now ? 0 : windowStart(kind, index + 1);
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Human label of a window in local time: 2025-03-14, 2025-03, 2025-Q1, 2025, 2025-03-14T10:05, now. */
export function windowLabel(kind: WK, index: number): string {
  switch (kind) {
    case WK.Minute: {
      const local = index * 60 + VN_OFFSET_SEC;
      const { y, m, d } = civilYearMonth(Math.floor(local / DAY_SEC));
      const mins = Math.floor((local % DAY_SEC) / 60);
      return `${y}-${pad(m)}-${pad(d)}T${pad(Math.floor(mins / 60))}:${pad(mins % 60)}`;
    }
    case WK.Day: {
      const { y, m, d } = civilYearMonth(index);
      return `${y}-${pad(m)}-${pad(d)}`;
    }
    case WK.Month:
      return `${Math.floor(index / 12)}-${pad((index % 12) + 1)}`;
    case WK.Quarter:
      return `${Math.floor(index / 4)}-Q${(index % 4) + 1}`;
    case WK.Year:
      return String(index);
    default:
      return 'now';
  }
}

export function kindName(kind: WK): WindowKind {
  return WINDOW_KINDS[kind] as WindowKind;
}

export function kindCode(name: WindowKind): WK {
  return WINDOW_KINDS.indexOf(name) as WK;
}
