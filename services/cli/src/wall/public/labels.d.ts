// Types of labels.js (plain JS served to browsers as is), for the tests that import it.
export const TEXT: Record<'vi' | 'en', Record<string, string>>;
export const QD766_PARTS: readonly { id: string; no: string; vi: string; en: string }[];
export const UNITS: Readonly<Record<string, 'count' | 'ratio' | 'hours' | 'points'>>;
export const STREAM_QUERY: string;
export function text(lang: 'vi' | 'en', key: string, vars?: Record<string, string | number>): string;
export function shortUnitName(name: string | undefined, code: string): string;
