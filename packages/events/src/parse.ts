/**
 * parseCloudEvent: the JSON (structured-mode) edge. Validates the envelope and the per-type data in one
 * pass, reports every problem with its JSON path, never throws. Other codecs (Kafka, gRPC) rebuild the
 * same candidate object and go through validateCandidate, so all edges apply identical rules.
 */
import { REJECT, acceptOf, type Accept } from './fast-accept.js';
import type { z } from 'zod';
import { describeValue } from './fields.js';
import { EVENT_TYPES, type EventType } from './names.js';
import { collectIssues, problem, type Problem } from './problems.js';
import {
  CONTEXT_ATTRIBUTES,
  DATA_SCHEMAS,
  EXTENSION_NAME,
  envelopeSchema,
  extensionValueSchema,
  type DossierEvent,
} from './schemas.js';

export type ParseResult = { ok: true; event: DossierEvent } | { ok: false; problems: Problem[] };

const KNOWN = new Set<string>(CONTEXT_ATTRIBUTES);
const extensionAccept: Accept = acceptOf(extensionValueSchema) ?? (() => REJECT);
// application/json, application/*+json and text/json, with optional parameters (charset).
const JSON_MEDIA_TYPE = /^\s*(?:application\/(?:[\w.+-]+\+)?json|text\/json)\s*(?:;.*)?$/i;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON producers often write `"x": null` for "no value"; treat null as absent (copying only if needed). */
function withoutNulls(obj: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const k in obj) {
    if (obj[k] === null) {
      copy ??= { ...obj };
      delete copy[k];
    }
  }
  return copy ?? obj;
}

function cleanData(data: unknown): unknown {
  if (!isPlainObject(data)) return data;
  const out = withoutNulls(data);
  const comps = out.components;
  if (Array.isArray(comps) && comps.some((c) => isPlainObject(c) && Object.values(c).includes(null))) {
    return { ...out, components: comps.map((c) => (isPlainObject(c) ? withoutNulls(c) : c)) };
  }
  return out;
}

export interface ValidateOptions {
  /** Check `datacontenttype` as a JSON media type (the JSON edge); other codecs check their own. */
  jsonContentType: boolean;
  /**
   * false: zod alone, without the accept-only fast path (fast-accept.ts). The reference the fast path is
   * property-tested and benchmarked against; the decisions and problems are the same either way.
   */
  fastPath?: boolean;
}

type Envelope = z.output<typeof envelopeSchema>;
const envelopeAccept: Accept = acceptOf(envelopeSchema) ?? (() => REJECT);
const dataAccepts = new Map<string, Accept>(EVENT_TYPES.map((t) => [t, acceptOf(DATA_SCHEMAS[t]) ?? (() => REJECT)]));
const notAccepted: Accept = () => REJECT;

/**
 * Validates a CloudEvent-shaped object whose `data` is already a JS object. Returns the event (with
 * fresh objects; the input is never mutated) or every problem found.
 */
export function validateCandidate(input: unknown, options: ValidateOptions): ParseResult {
  if (!isPlainObject(input)) {
    return { ok: false, problems: [problem('$', `expected a CloudEvent JSON object, got ${describeValue(input)}`)] };
  }
  const obj = withoutNulls(input);
  const problems: Problem[] = [];
  const fast = options.fastPath !== false;

  const accepted = fast ? envelopeAccept(obj) : REJECT;
  const env = accepted !== REJECT ? { success: true as const, data: accepted as Envelope } : envelopeSchema.safeParse(obj);
  if (!env.success) collectIssues(env.error.issues, [], problems, 'CloudEvents attribute');

  let extensions: Record<string, string> | undefined;
  for (const key in obj) {
    if (KNOWN.has(key)) continue;
    if (key === 'data_base64') {
      problems.push(problem('$.data_base64', 'is not accepted: send data as a JSON object in "data"'));
    } else if (!EXTENSION_NAME.test(key)) {
      problems.push(
        problem(`$['${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`, 'is not a CloudEvents attribute: extension attribute names are 1-20 lower-case letters or digits'),
      );
    } else {
      const value = obj[key];
      if (fast && extensionAccept(value) !== REJECT) {
        (extensions ??= {})[key] = value as string;
        continue;
      }
      const v = extensionValueSchema.safeParse(value);
      if (!v.success) collectIssues(v.error.issues, [key], problems, 'extension');
      else (extensions ??= {})[key] = String(v.data);
    }
  }

  const ct = obj.datacontenttype;
  if (options.jsonContentType && typeof ct === 'string' && !JSON_MEDIA_TYPE.test(ct)) {
    problems.push(problem('$.datacontenttype', `expected application/json (data must be a JSON object), got ${describeValue(ct)}`));
  }

  const type = obj.type;
  const schema = typeof type === 'string' ? DATA_SCHEMAS[type as EventType] : undefined;
  let data: Record<string, unknown> | undefined;
  if (schema !== undefined) {
    const cleaned = cleanData(obj.data);
    const fastData = fast ? (dataAccepts.get(type as string) ?? notAccepted)(cleaned) : REJECT;
    if (fastData !== REJECT) data = fastData as Record<string, unknown>;
    else {
      const parsed = schema.safeParse(cleaned);
      if (parsed.success) data = parsed.data as Record<string, unknown>;
      else collectIssues(parsed.error.issues, ['data'], problems, `${String(type)} data`);
    }
  }

  if (schema === undefined && !isPlainObject(obj.data)) {
    problems.push(problem('$.data', obj.data === undefined ? 'is required: expected a JSON object' : `expected a JSON object, got ${describeValue(obj.data)}`));
  }

  const dossierCode = isPlainObject(obj.data) ? obj.data.dossierCode : undefined;
  if (typeof obj.subject === 'string' && typeof dossierCode === 'string' && obj.subject !== dossierCode) {
    problems.push(
      problem('$.subject', `expected the dossier code ${describeValue(dossierCode)} (subject must equal data.dossierCode), got ${describeValue(obj.subject)}`),
    );
  }

  if (problems.length > 0 || !env.success || data === undefined) {
    return { ok: false, problems: problems.length > 0 ? problems : [problem('$', 'is not a valid dossier event')] };
  }
  const e = env.data;
  const event: Record<string, unknown> = {
    specversion: e.specversion,
    id: e.id,
    source: e.source,
    type: e.type,
    time: e.time,
    subject: e.subject,
    data,
  };
  if (e.dataschema !== undefined) event.dataschema = e.dataschema;
  if (extensions !== undefined) event.extensions = extensions;
  return { ok: true, event: event as unknown as DossierEvent };
}

/** Validates one CloudEvent in JSON structured form (already JSON.parse'd). Never throws. */
export function parseCloudEvent(input: unknown): ParseResult {
  try {
    return validateCandidate(input, { jsonContentType: true });
  } catch (err) {
    // Only exotic inputs get here (a throwing getter or Proxy): still an answer, never a crash.
    return { ok: false, problems: [problem('$', `could not be read: ${err instanceof Error ? err.message : String(err)}`)] };
  }
}

/** The JSON structured form of an event (application/cloudevents+json); parseCloudEvent's inverse. */
export function toCloudEventJson(event: DossierEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    type: event.type,
    time: event.time,
    subject: event.subject,
    datacontenttype: 'application/json',
  };
  if (event.dataschema !== undefined) out.dataschema = event.dataschema;
  if (event.extensions !== undefined) Object.assign(out, event.extensions);
  out.data = event.data;
  return out;
}

/** The deduplication key of SPEC §1: the same (source, id) pair is one event. */
export function dedupKey(event: { source: string; id: string }): string {
  // A separator that cannot occur in a source (no spaces or control chars there) keeps the pair unambiguous.
  return `${event.source} ${event.id}`;
}
