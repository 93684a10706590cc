/**
 * The gRPC edge: iocbus.events.v1.CloudEvent (typed data in a oneof) ↔ DossierEvent.
 *
 * fromProtoCloudEvent takes the plain object a gRPC stack hands over. It is written for
 * @grpc/proto-loader with PROTO_LOADER_OPTIONS (camelCase keys, enums as names, longs as numbers, no
 * defaults filled in, oneof case names) and also accepts snake_case keys, enum numbers and Long objects.
 * `defaults: true` must not be used: it turns absent optional fields into "" / false.
 * Problems carry the same JSON paths as the HTTP edge ($.data.receivedAt), so clients see one vocabulary.
 */
import { describeValue } from './fields.js';
import { EVENT_NAMES, isEventType, eventNameOf } from './names.js';
import { validateCandidate, type ParseResult } from './parse.js';
import { problem, type Problem } from './problems.js';
import { camelCase, codecFor, decodeStrict, messageToJson, protoModel, PROTO_DIR, type DataCodec } from './proto.js';
import type { DossierEvent } from './schemas.js';

/** Options for @grpc/proto-loader's loadSync so that fromProtoCloudEvent reads its objects faithfully. */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
} as const;

/** Plain-object form of iocbus.events.v1.CloudEvent (proto-loader / protobufjs toObject shape). */
export interface ProtoCloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  time: string;
  subject: string;
  datacontenttype?: string;
  dataschema?: string;
  extensions?: Record<string, string>;
  /** The oneof case name when the message came through proto-loader with oneofs: true. */
  data?: string;
  [dataCase: string]: unknown;
}

const PROTOBUF_MEDIA_TYPE = /^\s*application\/(?:x-)?protobuf\s*(?:;.*)?$/i;
const ENVELOPE = ['specversion', 'id', 'source', 'type', 'time', 'subject', 'dataschema'] as const;
const RESERVED = new Set<string>([...ENVELOPE, 'datacontenttype', 'data']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** snake_case keys (proto-loader keepCase: true) → the camelCase the codecs use; shallow, plus components. */
function camelKeys(o: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in o) {
    if (k.includes('_') && !k.startsWith('_')) {
      out ??= { ...o };
      out[camelCase(k)] = o[k];
      delete out[k];
    }
  }
  const res = out ?? o;
  const comps = res.components;
  if (Array.isArray(comps)) {
    const mapped = comps.map((c) => (isObject(c) ? camelKeys(c) : c));
    if (mapped.some((c, i) => c !== comps[i])) return { ...res, components: mapped };
  }
  return res;
}

function findCase(msg: Record<string, unknown>, problems: Problem[]): DataCodec | undefined {
  const byCase = protoModel().byCase;
  if (typeof msg.data === 'string' && msg.data !== '') {
    const c = byCase.get(camelCase(msg.data));
    if (c === undefined) problems.push(problem('$.data', `expected a known data case (${EVENT_NAMES.join(', ')}), got ${describeValue(msg.data)}`));
    return c;
  }
  const present: DataCodec[] = [];
  for (const name of EVENT_NAMES) {
    const c = byCase.get(camelCase(name)) as DataCodec;
    if (isObject(msg[c.caseName]) || isObject(msg[name])) present.push(c);
  }
  if (present.length > 1) {
    problems.push(problem('$.data', `expected exactly one data case, got ${present.map((c) => c.name).join(', ')}`));
  } else if (present.length === 0) {
    problems.push(problem('$.data', `is required: expected one of the typed data messages (${EVENT_NAMES.join(', ')})`));
  }
  return present.length === 1 ? present[0] : undefined;
}

function validateProto(msg: unknown): ParseResult {
  if (!isObject(msg)) return { ok: false, problems: [problem('$', `expected a CloudEvent message, got ${describeValue(msg)}`)] };
  const problems: Problem[] = [];
  const candidate: Record<string, unknown> = {};
  for (const attr of ENVELOPE) {
    const v = msg[attr];
    // proto3 cannot send "absent" for a plain string: "" means not set.
    if (v !== undefined && v !== null && v !== '') candidate[attr] = v;
  }
  const ct = msg.datacontenttype;
  if (ct !== undefined && ct !== null && ct !== '' && !(typeof ct === 'string' && PROTOBUF_MEDIA_TYPE.test(ct))) {
    problems.push(problem('$.datacontenttype', `expected application/protobuf or nothing (data is typed), got ${describeValue(ct)}`));
  }
  const ext = msg.extensions;
  if (isObject(ext)) {
    for (const name in ext) {
      if (RESERVED.has(name)) problems.push(problem(`$.extensions.${name}`, 'is a CloudEvents core attribute, not an extension; set the message field instead'));
      else candidate[name] = ext[name];
    }
  } else if (ext !== undefined && ext !== null) {
    problems.push(problem('$.extensions', `expected a map of strings, got ${describeValue(ext)}`));
  }

  const codec = findCase(msg, problems);
  if (codec !== undefined) {
    const raw = msg[codec.caseName] ?? msg[codec.name];
    if (isObject(raw)) candidate.data = messageToJson(codec.fields, camelKeys(raw));
    const type = candidate.type;
    if (isEventType(type) && eventNameOf(type) !== codec.name) {
      problems.push(problem('$.type', `expected vn.gov.tthc.dossier.${codec.name} to match the data case ${codec.name}, got ${describeValue(type)}`));
      // Check the data against the message it is, not against the mismatched type.
      candidate.type = `vn.gov.tthc.dossier.${codec.name}`;
    }
  }

  const result = validateCandidate(candidate, { jsonContentType: false });
  if (result.ok && problems.length === 0) return result;
  if (!result.ok) {
    for (const p of result.problems) {
      if (p.path === '$.data' && candidate.data === undefined) continue;
      // Extension problems point into the extensions map, where the sender put them.
      const m = /^\$\.([a-z0-9]+)$/.exec(p.path);
      if (m !== null && !RESERVED.has(m[1] as string)) {
        problems.push({ path: `$.extensions.${m[1]}`, message: `extensions.${p.message}` });
      } else if (p.path.startsWith("$['")) {
        const label = p.message.startsWith('attribute ') ? p.message.slice('attribute '.length) : p.message;
        problems.push({ path: `$.extensions${p.path.slice(1)}`, message: `extensions.${label}` });
      } else problems.push(p);
    }
  }
  return { ok: false, problems };
}

/** Validates a CloudEvent received over gRPC. Never throws. */
export function fromProtoCloudEvent(msg: unknown): ParseResult {
  try {
    return validateProto(msg);
  } catch (err) {
    return { ok: false, problems: [problem('$', `could not be read: ${err instanceof Error ? err.message : String(err)}`)] };
  }
}

/** A DossierEvent as the plain-object CloudEvent message (enum values by name, ready for proto-loader). */
export function toProtoCloudEvent(event: DossierEvent): ProtoCloudEvent {
  const codec = codecFor(event.type);
  const data: Record<string, unknown> = { ...event.data };
  for (const f of codec.enumFields) {
    const v = data[f.name];
    if (typeof v === 'string') data[f.name] = f.enumJsonToName?.get(v);
  }
  const out: ProtoCloudEvent = {
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    type: event.type,
    time: event.time,
    subject: event.subject,
    datacontenttype: 'application/protobuf',
    extensions: { ...event.extensions },
    data: codec.caseName,
    [codec.caseName]: data,
  };
  if (event.dataschema !== undefined) out.dataschema = event.dataschema;
  return out;
}

/** Binary iocbus.events.v1.CloudEvent of an event (for clients not using proto-loader, and for tests). */
export function encodeProtoCloudEvent(event: DossierEvent): Uint8Array {
  const ce = protoModel().cloudEvent;
  const { data: _case, ...fields } = toProtoCloudEvent(event);
  return ce.encode(ce.fromObject(fields)).finish();
}

/** Decodes and validates a binary iocbus.events.v1.CloudEvent. Never throws. */
export function decodeProtoCloudEvent(bytes: Uint8Array): ParseResult {
  const ce = protoModel().cloudEvent;
  let obj: Record<string, unknown>;
  try {
    obj = ce.toObject(decodeStrict(ce, bytes), { enums: String, longs: Number, defaults: false, oneofs: true });
  } catch (err) {
    return { ok: false, problems: [problem('$', `expected a protobuf iocbus.events.v1.CloudEvent message, but decoding failed (${err instanceof Error ? err.message : String(err)})`)] };
  }
  return fromProtoCloudEvent(obj);
}
