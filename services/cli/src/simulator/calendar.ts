/**
 * Local time in Asia/Ho_Chi_Minh (UTC+07:00 all year: Vietnam has no daylight saving) and office-hours
 * arithmetic for statutory deadlines. Public holidays are not modelled: the sample calendar is Monday to
 * Friday, which is what most one-stop shops publish.
 */

export const VN_OFFSET_MS = 7 * 3_600_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Office sessions as [start, end) minutes after local midnight, e.g. [[450, 690], [780, 1020]]. */
export type Sessions = readonly (readonly [number, number])[];

export interface OfficeCalendar {
  sessions: Sessions;
  /** Local weekdays with office hours, 0 = Sunday. */
  workingDays: readonly number[];
}

/** Days since 1970-01-01 in local time. */
export function localDay(ms: number): number {
  return Math.floor((ms + VN_OFFSET_MS) / DAY_MS);
}

/** The instant of local midnight starting local day `day`. */
export function dayStart(day: number): number {
  return day * DAY_MS - VN_OFFSET_MS;
}

export function minuteOfDay(ms: number): number {
  return Math.floor((ms - dayStart(localDay(ms))) / MINUTE_MS);
}

/** Local weekday, 0 = Sunday (1970-01-01 was a Thursday). */
export function weekdayOfDay(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function weekday(ms: number): number {
  return weekdayOfDay(localDay(ms));
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** RFC 3339 with the +07:00 offset, to the second: the form agency systems in Vietnam send. */
export function formatLocal(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000 + VN_OFFSET_MS);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}+07:00`;
}

/** yymmdd of the local date, as used inside dossier codes. */
export function yymmdd(ms: number): string {
  const d = new Date(ms + VN_OFFSET_MS);
  return `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}

export function parseClock(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (m === null) throw new RangeError(`expected hh:mm, got ${hhmm}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export class WorkCalendar {
  private readonly working: boolean[];

  constructor(private readonly office: OfficeCalendar) {
    this.working = Array.from({ length: 7 }, (_, d) => office.workingDays.includes(d));
  }

  isWorkingDay(day: number): boolean {
    return this.working[weekdayOfDay(day)] === true;
  }

  /** Working milliseconds in one full working day. */
  get dayLengthMs(): number {
    let total = 0;
    for (const [s, e] of this.office.sessions) total += (e - s) * MINUTE_MS;
    return total;
  }

  /** `ms` itself when it falls in office hours, else the start of the next session. */
  nextOpen(ms: number): number {
    return this.add(ms, 0);
  }

  isOpen(ms: number): boolean {
    const day = localDay(ms);
    if (!this.isWorkingDay(day)) return false;
    const minute = (ms - dayStart(day)) / MINUTE_MS;
    return this.office.sessions.some(([s, e]) => minute >= s && minute < e);
  }

  /**
   * The instant `durationMs` of office time after `ms`. A duration that ends exactly at a session's end
   * stays there (a deadline of "end of the working day"), it does not jump to the next session.
   */
  add(ms: number, durationMs: number): number {
    let remaining = Math.max(0, durationMs);
    let day = localDay(ms);
    // Bounded: a year of calendar days covers any statutory time limit.
    for (let guard = 0; guard < 400; guard++, day++) {
      if (!this.isWorkingDay(day)) continue;
      const base = dayStart(day);
      for (const [s, e] of this.office.sessions) {
        const open = Math.max(ms, base + s * MINUTE_MS);
        const close = base + e * MINUTE_MS;
        if (open >= close) continue;
        if (remaining === 0 && open < close) return open;
        if (remaining <= close - open) return open + remaining;
        remaining -= close - open;
      }
    }
    throw new RangeError('office calendar has no working time');
  }
}
