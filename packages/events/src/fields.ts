/**
 * Field-level zod schemas shared by every event type. Each carries its own error text so a problem reads
 * "<field>: expected <what>, got <value>" instead of zod's generic wording (see problems.ts).
 */
import { z } from 'zod';
import { charProblem, isLine, isText, isToken, isWellFormed } from './chars.js';
import { REJECT, listAccept, withAccept } from './fast-accept.js';
import { isRfc3339, rfc3339Problem } from './time.js';

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

export const WELL_FORMED_MESSAGE = 'expected well-formed Unicode text (no lone surrogates)';

// Each schema below registers (withAccept) the predicate its check applies, for the fast path of
// fast-accept.ts: it must accept nothing the schema rejects.

/** A code (dossier, procedure, unit, sector, component): 1-100 chars, no whitespace or control chars. */
const isCode = (v: unknown): boolean => typeof v === 'string' && v.length <= 100 && isToken(v);
export const code = withAccept(z
  .string({ error: expecting('a code string') })
  .check((ctx) => {
    const v = ctx.value;
    if (v.length > 100 || !isToken(v)) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: `expected a code of 1-100 characters without spaces or control characters, got ${describeValue(v)}`,
      });
    }
  }), (v) => (isCode(v) ? v : REJECT));

export const timestamp = withAccept(z
  .string({ error: expecting('an RFC 3339 timestamp with offset, like 2025-07-01T08:30:00+07:00') })
  .check((ctx) => {
    if (isRfc3339(ctx.value)) return;
    const why = rfc3339Problem(ctx.value);
    if (why !== undefined) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `expected an RFC 3339 timestamp with offset, like 2025-07-01T08:30:00+07:00; got ${describeValue(ctx.value)}, which ${why}`,
      });
    }
  }), (v) => (typeof v === 'string' && isRfc3339(v) ? v : REJECT));

/** Free text: up to 4000 characters; required text must not be blank. */
function text(required: boolean) {
  const accept = (v: unknown): unknown =>
    typeof v === 'string' && v.length <= 4000 && (!required || v.trim().length > 0) && isText(v) ? v : REJECT;
  return withAccept(z.string({ error: expecting('a text string') }).check((ctx) => {
    const v = ctx.value;
    let why: string | undefined;
    if (v.length > 4000) why = `expected at most 4000 characters, got ${v.length}`;
    else if (required && v.trim().length === 0) why = 'expected non-blank text';
    else if (!isText(v)) why = isWellFormed(v) ? 'expected text without control characters (other than tab and newline)' : WELL_FORMED_MESSAGE;
    if (why !== undefined) ctx.issues.push({ code: 'custom', input: v, message: why });
  }), accept);
}
export const requiredText = text(true);
export const optionalText = text(false);

export const bool = withAccept(z.boolean({ error: expecting('true or false') }), (v) => (typeof v === 'boolean' ? v : REJECT));

/** Money in VND, which has no minor unit: a whole, non-negative number of dong. */
export const amountVnd = withAccept(z
  .number({ error: expecting('a whole non-negative amount in VND') })
  .check((ctx) => {
    const v = ctx.value;
    if (!Number.isSafeInteger(v) || v < 0) {
      ctx.issues.push({ code: 'custom', input: v, message: `expected a whole non-negative amount in VND, got ${describeValue(v)}` });
    }
  }), (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : REJECT));

export const positiveHours = withAccept(z
  .number({ error: expecting('a positive number of hours') })
  .check((ctx) => {
    const v = ctx.value;
    if (!Number.isFinite(v) || v <= 0 || v > 1_000_000) {
      ctx.issues.push({ code: 'custom', input: v, message: `expected a positive number of hours (at most 1000000), got ${describeValue(v)}` });
    }
  }), (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1_000_000 ? v : REJECT));

export const absoluteUrl = withAccept(z
  .string({ error: expecting('an absolute URL') })
  .check((ctx) => {
    const v = ctx.value;
    if (v.length > 2048 || !isToken(v) || !URL.canParse(v)) {
      ctx.issues.push({ code: 'custom', input: v, message: `expected an absolute URL of at most 2048 characters, got ${describeValue(v)}` });
    }
  }), (v) => (typeof v === 'string' && v.length <= 2048 && isToken(v) && URL.canParse(v) ? v : REJECT));

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const list = values.join(', ');
  const allowed = new Set<unknown>(values);
  return withAccept(z.enum(values, { error: expecting(`one of ${list}`) }), (v) => (allowed.has(v) ? v : REJECT));
}

export function nonEmptyList<T extends z.ZodType>(item: T, what: string, max = 500) {
  return withAccept(z
    .array(item, { error: expecting(`a non-empty array of ${what}`) })
    .check((ctx) => {
      const n = ctx.value.length;
      if (n === 0 || n > max) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: `expected 1-${max} ${what}, got ${n} (omit the field when there are none)` });
      }
    }), listAccept(item, max));
}

/**
 * A string attribute: 1..maxLength characters; `token` forbids whitespace (URIs), `line` allows spaces
 * (event ids); neither allows control characters or lone surrogates.
 */
export function attributeString(expected: string, maxLength: number, kind: 'token' | 'line') {
  const accept = (v: unknown): unknown =>
    typeof v === 'string' && v.length > 0 && v.length <= maxLength && (kind === 'token' ? isToken(v) : isLine(v)) ? v : REJECT;
  return withAccept(z.string({ error: expecting(expected) }).check((ctx) => {
    const v = ctx.value;
    if (v.length > 0 && v.length <= maxLength && (kind === 'token' ? isToken(v) : isLine(v))) return;
    const why = v.length > maxLength ? `is longer than ${maxLength} characters` : charProblem(v, kind);
    ctx.issues.push({ code: 'custom', input: v, message: `expected ${expected}, got ${describeValue(v)}, which ${why}` });
  }), accept);
}

/** An extension attribute value given as a string; at most 4096 characters, well-formed. */
export const extensionString = withAccept(z.string().check((ctx) => {
  const v = ctx.value;
  if (v.length <= 4096 && isWellFormed(v)) return;
  ctx.issues.push({ code: 'custom', input: v, message: v.length > 4096 ? 'expected at most 4096 characters' : WELL_FORMED_MESSAGE });
}), (v) => (typeof v === 'string' && v.length <= 4096 && isWellFormed(v) ? v : REJECT));
