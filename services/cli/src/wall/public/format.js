// Number and time formatting for the wall screen. Written by hand rather than with Intl so that the
// browser and the tests (Node) produce the same characters whatever ICU data either one ships.

/** @typedef {'vi' | 'en'} Lang */

const SEPARATORS = { vi: { group: '.', decimal: ',' }, en: { group: ',', decimal: '.' } };

function grouped(intText, group) {
  let out = '';
  for (let i = 0; i < intText.length; i++) {
    if (i > 0 && (intText.length - i) % 3 === 0) out += group;
    out += intText[i];
  }
  return out;
}

/** A number with `digits` decimals in the language's separators; "N/A" for null (SPEC: denominator 0). */
export function formatNumber(value, lang, digits = 0) {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'N/A';
  const sep = SEPARATORS[lang] ?? SEPARATORS.vi;
  const fixed = Math.abs(value).toFixed(digits);
  const [int, frac] = fixed.split('.');
  const negative = value < 0 && Number(fixed) !== 0;
  return `${negative ? '−' : ''}${grouped(int, sep.group)}${frac === undefined ? '' : sep.decimal + frac}`;
}

export function formatCount(value, lang) {
  return formatNumber(value === null || value === undefined ? null : Math.round(value), lang, 0);
}

/** A ratio in [0, 1] as a percentage with one decimal: 0.9706 → "97,1%" (vi) / "97.1%" (en). */
export function formatPercent(ratio, lang, digits = 1) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return 'N/A';
  return `${formatNumber(ratio * 100, lang, digits)}%`;
}

export function formatPoints(points, lang) {
  return formatNumber(points, lang, 2);
}

export function formatHours(hours, lang) {
  return formatNumber(hours, lang, 1);
}

/**
 * How one field of an indicator value is shown. `unit` is the indicator's unit (count, ratio, hours,
 * points); numerators and denominators are always counts, points always points.
 */
export function formatField(unit, field, value, lang) {
  if (field === 'numerator' || field === 'denominator') return unit === 'points' ? formatPoints(value, lang) : formatCount(value, lang);
  if (field === 'points' || field === 'maxPoints') return formatPoints(value, lang);
  switch (unit) {
    case 'ratio':
      return formatPercent(value, lang);
    case 'hours':
      return formatHours(value, lang);
    case 'points':
      return formatPoints(value, lang);
    default:
      return formatCount(value, lang);
  }
}

const VN_OFFSET_MS = 7 * 3600 * 1000;
const pad = (n) => String(n).padStart(2, '0');

/** Clock time in Asia/Ho_Chi_Minh (the IOC's time, wherever the browser is): "09:31:05". */
export function formatVnTime(ms, withSeconds = true) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const d = new Date(ms + VN_OFFSET_MS);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${withSeconds ? `:${pad(d.getUTCSeconds())}` : ''}`;
}

/** Date in Asia/Ho_Chi_Minh: "07/07/2025" (vi) / "2025-07-07" (en). */
export function formatVnDate(ms, lang) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  const d = new Date(ms + VN_OFFSET_MS);
  const y = d.getUTCFullYear();
  const m = pad(d.getUTCMonth() + 1);
  const day = pad(d.getUTCDate());
  return lang === 'en' ? `${y}-${m}-${day}` : `${day}/${m}/${y}`;
}

/** A span of time, coarse: "45 giây", "12 phút", "2 giờ 05 phút" / "45 s", "12 min", "2 h 05 min". */
export function formatAge(ms, lang) {
  if (!Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  const en = lang === 'en';
  if (s < 60) return en ? `${s} s` : `${s} giây`;
  const m = Math.floor(s / 60);
  if (m < 60) return en ? `${m} min` : `${m} phút`;
  const h = Math.floor(m / 60);
  if (h < 48) return en ? `${h} h ${pad(m % 60)} min` : `${h} giờ ${pad(m % 60)} phút`;
  const d = Math.floor(h / 24);
  return en ? `${d} days` : `${d} ngày`;
}
