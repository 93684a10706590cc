/**
 * Field-level zod schemas shared by every event type. Each carries its own error text so a problem reads
 * "<field>: expected <what>, got <value>" instead of zod's generic wording (see problems.ts).
 */
import { z } from 'zod';
import { rfc3339Problem } from './time.js';

export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Error text for a value of the wrong JSON type, or for a required field that is absent. */
export function expecting(what: string) {
  return (iss: { input?: unknown }): string =>
    iss.input === undefined ? `is required: expected ${what}` : `expected ${what}, got ${describeValue(iss.input)}`;
}

const NO_SPACE_OR_CONTROL = /^[^\s\p{Cc}]+$/u;
const NO_CONTROL = /^[^\p{Cc}]*$/u;

/**
 * Lone UTF-16 surrogates (possible in JSON via "\ud800") cannot be encoded as UTF-8, so protobuf and
 * Kafka headers would silently turn them into U+FFFD; refusing them keeps every codec exact.
 */
export function isWellFormed(s: string): boolean {
  // With the u flag a surrogate class matches only unpaired surrogates (pairs are one code point).
  return !LONE_SURROGATE.test(s);
}
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
export const WELL_FORMED_MESSAGE = 'expected well-formed Unicode text (no lone surrogates)';

/** A code (dossier, procedure, unit, sector, component): 1-100 chars, no whitespace or control chars. */
export const code = z
  .string({ error: expecting('a code string') })
  .check((ctx) => {
    const v = ctx.value;
    if (v.length === 0 || v.length > 100 || !NO_SPACE_OR_CONTROL.test(v) || !isWellFormed(v)) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: `expected a code of 1-100 characters without spaces or control characters, got ${describeValue(v)}`,
      });
    }
  });

export const timestamp = z
  .string({ error: expecting('an RFC 3339 timestamp with offset, like 2025-07-01T08:30:00+07:00') })
  .check((ctx) => {
    const why = rfc3339Problem(ctx.value);
    if (why !== undefined) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `expected an RFC 3339 timestamp with offset, like 2025-07-01T08:30:00+07:00; got ${describeValue(ctx.value)}, which ${why}`,
      });
    }
  });

/** Free text: up to 4000 characters; required text must not be blank. */
function text(required: boolean) {
  return z.string({ error: expecting('a text string') }).check((ctx) => {
    const v = ctx.value;
    let why: string | undefined;
    if (v.length > 4000) why = `expected at most 4000 characters, got ${v.length}`;
    else if (required && v.trim().length === 0) why = 'expected non-blank text';
    else if (!NO_CONTROL.test(v.replace(/[\n\r\t]/g, ''))) why = 'expected text without control characters (other than tab and newline)';
    else if (!isWellFormed(v)) why = WELL_FORMED_MESSAGE;
    if (why !== undefined) ctx.issues.push({ code: 'custom', input: v, message: why });
  });
}
export const requiredText = text(true);
export const optionalText = text(false);

export const bool = z.boolean({ error: expecting('true or false') });

/** Money in VND, which has no minor unit: a whole, non-negative number of dong. */
export const amountVnd = z
  .number({ error: expecting('a whole non-negative amount in VND') })
  .check((ctx) => {
    const v = ctx.value;
    if (!Number.isSafeInteger(v) || v < 0) {
      ctx.issues.push({ code: 'custom', input: v, message: `expected a whole non-negative amount in VND, got ${describeValue(v)}` });
    }
  });

export const positiveHours = z
  .number({ error: expecting('a positive number of hours') })
  .check((ctx) => {
    const v = ctx.value;
    if (!Number.isFinite(v) || v <= 0 || v > 1_000_000) {
      ctx.issues.push({ code: 'custom', input: v, message: `expected a positive number of hours (at most 1000000), got ${describeValue(v)}` });
    }
  });

export const absoluteUrl = z
  .string({ error: expecting('an absolute URL') })
  .check((ctx) => {
    const v = ctx.value;
    if (v.length > 2048 || !URL.canParse(v) || !NO_SPACE_OR_CONTROL.test(v) || !isWellFormed(v)) {
      ctx.issues.push({ code: 'custom', input: v, message: `expected an absolute URL of at most 2048 characters, got ${describeValue(v)}` });
    }
  });

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const list = values.join(', ');
  return z.enum(values, { error: expecting(`one of ${list}`) });
}

export function nonEmptyList<T extends z.ZodType>(item: T, what: string, max = 500) {
  return z
    .array(item, { error: expecting(`a non-empty array of ${what}`) })
    .check((ctx) => {
      const n = ctx.value.length;
      if (n === 0 || n > max) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: `expected 1-${max} ${what}, got ${n} (omit the field when there are none)` });
      }
    });
}
