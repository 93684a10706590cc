/**
 * CloudEvents Kafka protocol binding, binary content mode
 * (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md#32-binary-content-mode):
 * context attributes travel as `ce_<name>` headers, the record value is the data — here protobuf-encoded —
 * with its media type in `content-type`, and the key is the subject (the dossier code) so one dossier's
 * events stay ordered on one partition.
 */
import { EventDecodeError } from './errors.js';
import { describeValue } from './fields.js';
import { isEventType } from './names.js';
import { validateCandidate } from './parse.js';
import { problem, type Problem } from './problems.js';
import { decodeData, encodeData, EVENTS_PACKAGE, codecFor } from './proto.js';
import { EXTENSION_NAME, type DossierEvent } from './schemas.js';

export const PROTOBUF_CONTENT_TYPE = 'application/protobuf';

export interface KafkaRecordOut {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** What a Kafka client hands back; kafkajs may give a header several values (an array). */
export interface KafkaRecordIn {
  key: string | Buffer | null | undefined;
  value: Buffer | Uint8Array | null | undefined;
  headers?: Record<string, string | Buffer | readonly (string | Buffer)[] | undefined> | undefined;
}

/** Encodes a (validated) event as a Kafka record. */
export function toKafkaRecord(event: DossierEvent): KafkaRecordOut {
  return { key: event.subject, value: encodeData(event.type, event.data), headers: kafkaHeaders(event) };
}

/** The binary-mode headers of an event: every CloudEvents attribute and extension as `ce_<name>`, and the content type. */
export function kafkaHeaders(event: DossierEvent): Record<string, string> {
  const headers: Record<string, string> = {
    ce_specversion: event.specversion,
    ce_id: event.id,
    ce_source: event.source,
    ce_type: event.type,
    ce_time: event.time,
    ce_subject: event.subject,
    'content-type': PROTOBUF_CONTENT_TYPE,
  };
  if (event.dataschema !== undefined) headers.ce_dataschema = event.dataschema;
  if (event.extensions !== undefined) {
    for (const name in event.extensions) headers[`ce_${name}`] = event.extensions[name] as string;
  }
  return headers;
}

const ATTRIBUTE_HEADERS = ['specversion', 'id', 'source', 'type', 'time', 'subject', 'dataschema'] as const;
const ATTRIBUTE_SET = new Set<string>(ATTRIBUTE_HEADERS);
// application/protobuf (RFC 9646-era name) or the older application/x-protobuf, parameters ignored.
const PROTOBUF_MEDIA_TYPE = /^\s*application\/(?:x-)?protobuf\s*(?:;.*)?$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function headerPath(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `$.headers.${name}` : `$.headers['${name.replace(/'/g, "\\'")}']`;
}

/** A header value (or the key) as text; `where` is the header name, or a path for the key. */
function text(v: unknown, where: string, problems: Problem[]): string | undefined {
  if (typeof v === 'string') return v;
  const path = where.startsWith('$') ? where : headerPath(where);
  if (v instanceof Uint8Array) {
    try {
      return utf8.decode(v);
    } catch {
      problems.push(problem(path, 'expected UTF-8 text, got bytes that are not valid UTF-8'));
      return undefined;
    }
  }
  if (Array.isArray(v)) problems.push(problem(path, `expected one value, got ${v.length} (the header is repeated)`));
  else if (v !== undefined && v !== null) problems.push(problem(path, `expected a string or bytes, got ${describeValue(v)}`));
  return undefined;
}

/** Rewrites a problem about envelope attribute `$.id` as one about header `$.headers.ce_id`. */
function toHeaderProblem(p: Problem): Problem {
  const m = /^\$\.([a-z0-9]+)$/.exec(p.path);
  if (m === null || m[1] === 'data') return p;
  const attr = m[1] as string;
  const rest = p.message.startsWith(attr) ? p.message.slice(attr.length) : `: ${p.message}`;
  return { path: `$.headers.ce_${attr}`, message: `headers.ce_${attr}${rest}` };
}

function decode(record: KafkaRecordIn): DossierEvent {
  const problems: Problem[] = [];
  if (typeof record !== 'object' || record === null) {
    throw new EventDecodeError([{ path: '$', message: `record: expected a Kafka record object, got ${describeValue(record)}` }]);
  }
  const headers = record.headers;
  const candidate: Record<string, unknown> = {};
  let contentType: string | undefined;
  if (typeof headers === 'object' && headers !== null) {
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (lower === 'content-type') {
        contentType = text(headers[name], name, problems);
        continue;
      }
      if (!lower.startsWith('ce_')) continue; // other headers (tracing, client metadata) are not ours
      const attr = name.slice(3);
      const value = text(headers[name], name, problems);
      if (attr === 'datacontenttype') {
        // Not part of the binary-mode binding (content-type carries it), but the cloudevents SDK sends it.
        if (value !== undefined && !PROTOBUF_MEDIA_TYPE.test(value)) {
          problems.push(problem(headerPath(name), `expected ${PROTOBUF_CONTENT_TYPE} or no header (the content-type header carries the media type), got ${describeValue(value)}`));
        }
      } else if (attr === 'data') {
        problems.push(problem(headerPath(name), 'is not allowed in binary mode: the data is the record value'));
      } else if (!ATTRIBUTE_SET.has(attr) && !EXTENSION_NAME.test(attr)) {
        problems.push(problem(headerPath(name), 'is not a CloudEvents attribute header: ce_ must be followed by 1-20 lower-case letters or digits'));
      } else if (value !== undefined) {
        candidate[attr] = value;
      }
    }
  } else if (headers !== undefined) {
    problems.push(problem('$.headers', `expected an object of headers, got ${describeValue(headers)}`));
  }
  if (contentType === undefined) {
    if (!problems.some((p) => p.path === "$.headers['content-type']")) {
      problems.push(problem("$.headers['content-type']", `is required: expected ${PROTOBUF_CONTENT_TYPE}`));
    }
  } else if (!PROTOBUF_MEDIA_TYPE.test(contentType)) {
    problems.push(problem("$.headers['content-type']", `expected ${PROTOBUF_CONTENT_TYPE}, got ${describeValue(contentType)}`));
  }

  const key = record.key === undefined || record.key === null ? undefined : text(record.key, '$.key', problems);
  if (record.key === undefined || record.key === null) problems.push(problem('$.key', 'is required: expected the dossier code (the subject)'));
  else if (key !== undefined && typeof candidate.subject === 'string' && key !== candidate.subject) {
    problems.push(problem('$.key', `expected the subject ${describeValue(candidate.subject)}, got ${describeValue(key)}`));
  }

  const type = candidate.type;
  const value = record.value;
  if (value === null || value === undefined) {
    problems.push(problem('$.value', 'is required: expected protobuf-encoded event data'));
  } else if (!(value instanceof Uint8Array)) {
    problems.push(problem('$.value', `expected bytes, got ${describeValue(value)}`));
  } else if (isEventType(type)) {
    try {
      candidate.data = decodeData(type, value);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      problems.push(problem('$.value', `expected a protobuf ${EVENTS_PACKAGE}.${codecFor(type).type.name} message, but decoding failed (${why})`));
    }
  }

  const result = validateCandidate(candidate, { jsonContentType: false });
  if (result.ok && problems.length === 0) return result.event;
  if (!result.ok) {
    for (const p of result.problems) {
      // Data we could not decode is already reported once, at $.value.
      if (p.path === '$.data' && candidate.data === undefined) continue;
      problems.push(toHeaderProblem(p));
    }
  }
  throw new EventDecodeError(problems);
}

/** Decodes a Kafka record; throws EventDecodeError (with every problem and its path) and nothing else. */
export function fromKafkaRecord(record: KafkaRecordIn): DossierEvent {
  try {
    return decode(record);
  } catch (err) {
    if (err instanceof EventDecodeError) throw err;
    throw new EventDecodeError([{ path: '$', message: `record could not be decoded: ${err instanceof Error ? err.message : String(err)}` }], { cause: err });
  }
}
