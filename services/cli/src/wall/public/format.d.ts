// Types of format.js (plain JS served to browsers as is), for the tests that import it.
export type Lang = 'vi' | 'en';
export function formatNumber(value: number | null | undefined, lang: Lang, digits?: number): string;
export function formatCount(value: number | null | undefined, lang: Lang): string;
export function formatPercent(ratio: number | null | undefined, lang: Lang, digits?: number): string;
export function formatPoints(points: number | null | undefined, lang: Lang): string;
export function formatHours(hours: number | null | undefined, lang: Lang): string;
export function formatField(unit: string, field: string, value: number | null | undefined, lang: Lang): string;
export function formatVnTime(ms: number | null | undefined, withSeconds?: boolean): string;
export function formatVnDate(ms: number | null | undefined, lang: Lang): string;
export function formatAge(ms: number, lang: Lang): string;
