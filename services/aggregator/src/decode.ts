/**
 * The aggregator's decoder for records of the events topic: a fast path for the records the gateway wrote,
 * falling back to the events package's full decoder (`fromKafkaRecord`: protobufjs, then zod, every problem
 * with its path) for anything the fast path is not sure of — which either decodes it after all or throws the
 * EventDecodeError that goes into the dead letter.
 *
 * Why: catch-up replays the whole log (issue #5). fromKafkaRecord costs ~10 µs per event; the table-walking
 * fast path before this one (removed; it is in git history before 2026-11-27) ~1.3–2 µs, most of it in data-driven property stores
 * (`out[field.name] = v`, megamorphic over 17 shapes), a native call per string and the same timestamps
 * parsed again and again.
 *
 * Here each event type gets a decoder generated from the .proto's reflection, with the property names as
 * literals (as protobufjs, zod and the events package's writer do), reading the record value's protobuf
 * wire format straight into the engine's input shape:
 *  - codes (procedure, unit, sector, component) are checked and decoded once per distinct byte string and
 *    then served from a small intern table: the same few hundred codes recur in every event;
 *  - the dossier code is the subject (the fast path requires it), so its bytes are compared with the subject
 *    instead of decoded; a timestamp whose bytes equal ce_time (most do) reuses that string;
 *  - each value is checked as the zod schema checks it (codes: 1–100 chars, no space or control; RFC 3339
 *    timestamps with offset; enum numbers that name a value; whole non-negative amounts; text without
 *    control chars; required fields present) — only for the values the check is cheap on (ASCII codes,
 *    timestamps); anything else (a non-ASCII code, an unknown enum number, a known field with another wire
 *    type, an extension header) is a miss, decided by the full decoder.
 * So whatever the fast path accepts, the full decoder accepts with an equal result; decode.test.ts
 * property-tests that on valid and mutated records, and equality with the previous fast path.
 */
import { join } from 'node:path';
import type { ConsumedRecord } from '@iocbus/bus';
import {
  DATA_SCHEMAS,
  EVENT_NAMES,
  EVENTS_PROTO_FILE,
  PROTOBUF_CONTENT_TYPE,
  PROTO_DIR,
  PROTO_MESSAGE,
  TYPE_PREFIX,
  fromKafkaRecord,
  isRfc3339,
  type DossierEvent,
} from '@iocbus/events';
import protobuf from 'protobufjs';

/** Where the generated decoders read: the value being decoded, the read position and the end of the message. */
interface Cursor {
  b: Buffer;
  p: number;
  end: number;
}

type Decoder = (c: Cursor, subject: string, time: string) => Record<string, unknown> | undefined;

// ---- values --------------------------------------------------------------------------------------------

/** Buffer's own decoders, without toString's argument handling (a third of its cost on short strings). */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(this: Buffer, start: number, end: number): string }).utf8Slice;
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Buffer, start: number, end: number): string }).latin1Slice;

const TWO_32 = 4_294_967_296;
const MAX_LIST = 500; // nonEmptyList's bound (events fields.ts)

/** A varint at the cursor as a number; -1 when it runs past the end, is longer than 10 bytes or is not below 2^53. */
function varint(c: Cursor): number {
  const b = c.b;
  let p = c.p;
  if (p >= c.end) return -1;
  let x = b[p++] as number;
  if (x < 0x80) {
    c.p = p;
    return x;
  }
  x &= 0x7f;
  let scale = 128;
  for (let i = 1; i < 10; i++) {
    if (p >= c.end) return -1;
    const y = b[p++] as number;
    x += (y & 0x7f) * scale;
    if (y < 0x80) {
      c.p = p;
      return x < 2 ** 53 ? x : -1;
    }
    scale *= 128;
  }
  return -1;
}

/** A length prefix that fits in what is left of the message; -1 otherwise. */
function length(c: Cursor): number {
  const n = varint(c);
  return n > c.end - c.p ? -1 : n;
}

function sameAscii(s: string, b: Buffer, p: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== b[p + i]) return false;
  return true;
}

/** JavaScript's \s beyond ASCII (U+0009-000D and U+0020 are handled with the controls). */
function isUnicodeSpace(c: number): boolean {
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The events package's character rule (chars.ts `scan`): no control characters, no lone surrogates; no
 * whitespace at all unless `allowSpace`; tab and newlines when `allowTabNewline`. True when `s` passes.
 */
function scan(s: string, allowSpace: boolean, allowTabNewline: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c > 0x20 && c !== 0x7f) continue;
      if (c === 0x20 ? allowSpace : allowTabNewline && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
      return false;
    }
    if (c <= 0x9f) return false;
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return false;
    }
    if (!allowSpace && isUnicodeSpace(c)) return false;
  }
  return true;
}

/** Interned codes by a hash of their bytes: direct-mapped, a colliding code replaces the one in its slot. */
const INTERN_SLOTS = 4096;
const INTERN_MAX = 64;
const interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);

/** A code (events fields.ts `code`: 1–100 chars, no whitespace or control chars). */
function code(c: Cursor): string | undefined {
  const n = length(c);
  if (n <= 0) return undefined;
  const b = c.b;
  const p = c.p;
  c.p = p + n;
  let h = n;
  for (let i = p; i < p + n; i++) {
    const x = b[i] as number;
    if (x <= 0x20 || x >= 0x7f) return x >= 0x80 ? nonAsciiCode(b, p, n) : undefined;
    h = Math.imul(h ^ x, 0x01000193);
  }
  if (n > INTERN_MAX) return n > 100 ? undefined : latin1Slice.call(b, p, p + n);
  const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
  const known = interned[slot];
  if (known !== undefined && known.length === n && sameAscii(known, b, p, n)) return known;
  const s = latin1Slice.call(b, p, p + n);
  interned[slot] = s;
  return s;
}

/** A code with non-ASCII characters: decoded as the full decoder decodes it, then checked as zod does. */
function nonAsciiCode(b: Buffer, p: number, n: number): string | undefined {
  const s = utf8Slice.call(b, p, p + n);
  return s.length <= 100 && scan(s, false, false) ? s : undefined;
}

/** The dossier code: it must be the subject (checked before), so compare the bytes instead of decoding them. */
function subjectCode(c: Cursor, subject: string): string | undefined {
  const n = length(c);
  if (n < 0) return undefined;
  const b = c.b;
  const p = c.p;
  c.p = p + n;
  if (n === subject.length) {
    let i = 0;
    while (i < n && (b[p + i] as number) < 0x80 && b[p + i] === subject.charCodeAt(i)) i++;
    if (i === n) return subject;
  }
  // Not ASCII (or not the subject): as the full decoder would see it.
  return utf8Slice.call(b, p, p + n) === subject ? subject : undefined;
}

function d2(b: Buffer, at: number): number {
  const x = (b[at] as number) - 48;
  const y = (b[at + 1] as number) - 48;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** isRfc3339 (events time.ts) on bytes: the same rule, character for byte. */
export function isRfc3339Bytes(b: Buffer, p: number, n: number): boolean {
  if (n < 20 || n > 35) return false;
  const yh = d2(b, p);
  const yl = d2(b, p + 2);
  const mo = d2(b, p + 5);
  const d = d2(b, p + 8);
  const h = d2(b, p + 11);
  const mi = d2(b, p + 14);
  const sec = d2(b, p + 17);
  if (yh < 0 || yl < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return false;
  if (b[p + 4] !== 45 || b[p + 7] !== 45 || b[p + 13] !== 58 || b[p + 16] !== 58) return false;
  const t = b[p + 10];
  if (t !== 84 && t !== 116) return false;
  const y = yh * 100 + yl;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (mo === 2 && leap ? 29 : (DAYS_IN_MONTH[mo - 1] as number))) return false;
  const end = p + n;
  let i = p + 19;
  if (b[i] === 46) {
    const start = ++i;
    while (i < end && (b[i] as number) >= 48 && (b[i] as number) <= 57) i++;
    if (i === start || i - start > 9) return false;
  }
  const z = b[i];
  if (z === 90 || z === 122) return i + 1 === end;
  if ((z !== 43 && z !== 45) || i + 6 !== end || b[i + 3] !== 58) return false;
  const oh = d2(b, i + 1);
  const om = d2(b, i + 4);
  return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

/** An RFC 3339 timestamp with offset; the string of ce_time (checked before) when the bytes are the same. */
function time(c: Cursor, ceTime: string): string | undefined {
  const n = length(c);
  const b = c.b;
  const p = c.p;
  if (n === ceTime.length && sameAscii(ceTime, b, p, n)) {
    c.p = p + n;
    return ceTime;
  }
  if (n < 0 || !isRfc3339Bytes(b, p, n)) return undefined;
  c.p = p + n;
  return latin1Slice.call(b, p, p + n);
}

/** Free text (events fields.ts `text`): at most 4000 chars, no control chars other than tab and newlines, non-blank when required. */
function text(c: Cursor, required: boolean): string | undefined {
  const n = length(c);
  if (n < 0) return undefined;
  const s = utf8Slice.call(c.b, c.p, c.p + n);
  c.p += n;
  if (s.length > 4000 || !scan(s, true, true) || (required && s.trim().length === 0)) return undefined;
  return s;
}

/** An absolute URL (events fields.ts `absoluteUrl`), ASCII only here. */
function url(c: Cursor): string | undefined {
  const n = length(c);
  if (n <= 0 || n > 2048) return undefined;
  const b = c.b;
  for (let i = c.p; i < c.p + n; i++) if ((b[i] as number) <= 0x20 || (b[i] as number) >= 0x7f) return undefined;
  const s = latin1Slice.call(b, c.p, c.p + n);
  c.p += n;
  return URL.canParse(s) ? s : undefined;
}

/** protobufjs reads a bool as the low 32 bits of the varint, non-zero. */
function bool(c: Cursor): boolean | undefined {
  const n = varint(c);
  return n < 0 ? undefined : n % TWO_32 !== 0;
}

/** An enum number that names a value (not *_UNSPECIFIED), as its JSON string. */
function enumValue(c: Cursor, names: readonly (string | undefined)[]): string | undefined {
  const n = varint(c);
  return n < 0 ? undefined : names[n];
}

/** An int64 amount in VND: a whole, non-negative, safe integer (a negative int64 is a 10-byte varint ≥ 2^53). */
function amount(c: Cursor): number | undefined {
  const n = varint(c);
  return n < 0 ? undefined : n;
}

/** A double of hours (events fields.ts `positiveHours`): finite, positive, at most 1,000,000. */
function hours(c: Cursor): number | undefined {
  if (c.end - c.p < 8) return undefined;
  const v = c.b.readDoubleLE(c.p);
  c.p += 8;
  return v > 0 && v <= 1_000_000 ? v : undefined;
}

/** A nested message, decoded by `decode` within its length. */
function message(c: Cursor, decode: Decoder, subject: string, time: string): Record<string, unknown> | undefined {
  const n = length(c);
  if (n < 0) return undefined;
  const end = c.end;
  c.end = c.p + n;
  const v = decode(c, subject, time);
  c.p = c.end;
  c.end = end;
  return v;
}

/** Skips a field the message does not know, as protobufjs does; false for a malformed one or a group. */
function skip(c: Cursor, tag: number): boolean {
  switch (tag & 7) {
    case 0:
      return varint(c) >= 0;
    case 1:
      c.p += 8;
      break;
    case 2: {
      const n = length(c);
      if (n < 0) return false;
      c.p += n;
      break;
    }
    case 5:
      c.p += 4;
      break;
    default:
      return false;
  }
  return c.p <= c.end;
}

const HELPERS = { varint, code, subjectCode, time, text, url, bool, enumValue, amount, hours, message, skip };

// ---- generated decoders --------------------------------------------------------------------------------

/** How the fast path reads and checks a field; each mirrors the zod schema of that field (events schemas.ts). */
type Kind = 'subject' | 'code' | 'time' | 'text' | 'url' | 'bool' | 'enum' | 'amount' | 'hours' | 'message';

const CODE_FIELDS = new Set(['procedureCode', 'unitCode', 'sectorCode', 'fromUnitCode', 'toUnitCode', 'code', 'componentCodes']);
const TEXT_FIELDS = new Set(['reason', 'note', 'comment']);
const URL_FIELDS = new Set(['resultFileUrl']);
const AMOUNT_FIELDS = new Set(['amount']);
const HOURS_FIELDS = new Set(['statutoryHours']);

interface FieldPlan {
  id: number;
  name: string;
  kind: Kind;
  wire: number;
  repeated: boolean;
  required: boolean;
  enumNames?: (string | undefined)[];
  sub?: Decoder;
}

/** The zod shape of a type's data (or of a component): which keys are required. */
function requiredKeys(shape: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  for (const [key, schema] of Object.entries(shape)) {
    if ((schema as { _zod: { def: { type: string } } })._zod.def.type !== 'optional') out.add(key);
  }
  return out;
}

function enumNames(e: protobuf.Enum): (string | undefined)[] {
  const prefix = `${e.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_`;
  const out: (string | undefined)[] = [];
  for (const [valueName, num] of Object.entries(e.values)) if (num > 0) out[num] = valueName.slice(prefix.length).toLowerCase();
  return out;
}

function kindOf(f: protobuf.Field, isData: boolean): Kind | undefined {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Enum) return 'enum';
  if (rt instanceof protobuf.Type) return 'message';
  if (isData && f.name === 'dossierCode') return 'subject';
  if (f.type === 'string') {
    if (CODE_FIELDS.has(f.name)) return 'code';
    if (f.name.endsWith('At')) return 'time';
    if (TEXT_FIELDS.has(f.name)) return 'text';
    if (URL_FIELDS.has(f.name)) return 'url';
    return undefined;
  }
  if (f.type === 'bool') return 'bool';
  if (f.type === 'int64' && AMOUNT_FIELDS.has(f.name)) return 'amount';
  if (f.type === 'double' && HOURS_FIELDS.has(f.name)) return 'hours';
  return undefined;
}

const WIRE: Record<Kind, number> = { subject: 2, code: 2, time: 2, text: 2, url: 2, bool: 0, enum: 0, amount: 0, hours: 1, message: 2 };

/**
 * The decoder of one message type; undefined when a field is of a kind the fast path does not read (then
 * every record of that type goes to the full decoder).
 */
function generate(type: protobuf.Type, shape: Record<string, unknown>, isData: boolean, componentShape: Record<string, unknown>): Decoder | undefined {
  const required = requiredKeys(shape);
  const plans: FieldPlan[] = [];
  for (const f of [...type.fieldsArray].sort((a, b) => a.id - b.id)) {
    const kind = kindOf(f, isData);
    if (kind === undefined || f.id > 15 || !(f.name in shape)) return undefined;
    const plan: FieldPlan = { id: f.id, name: f.name, kind, wire: WIRE[kind], repeated: f.repeated, required: required.has(f.name) };
    if (kind === 'enum') plan.enumNames = enumNames(f.resolvedType as protobuf.Enum);
    if (kind === 'message') {
      const sub = generate(f.resolvedType as protobuf.Type, componentShape, false, componentShape);
      if (sub === undefined) return undefined;
      plan.sub = sub;
    }
    plans.push(plan);
  }
  if (Object.keys(shape).some((k) => !plans.some((p) => p.name === k))) return undefined;

  const read = (p: FieldPlan, i: number): string => {
    switch (p.kind) {
      case 'subject':
        return 'H.subjectCode(c, subject)';
      case 'text':
        return `H.text(c, ${p.required})`;
      case 'enum':
        return `H.enumValue(c, P[${i}].enumNames)`;
      case 'message':
        return `H.message(c, P[${i}].sub, subject, time)`;
      case 'time':
        return 'H.time(c, time)';
      default:
        return `H.${p.kind}(c)`;
    }
  };
  const lines: string[] = [];
  lines.push(`let ${plans.map((p) => `f${p.id}`).join(', ')}, v;`);
  lines.push('while (c.p < c.end) {');
  lines.push('  let tag = c.b[c.p++];');
  lines.push('  if (tag > 0x7f) { c.p--; tag = H.varint(c); if (tag < 0) return undefined; }');
  lines.push('  switch (tag) {');
  plans.forEach((p, i) => {
    const tag = p.id * 8 + p.wire;
    if (p.repeated) {
      lines.push(`    case ${tag}: v = ${read(p, i)}; if (v === undefined) return undefined; if (f${p.id} === undefined) f${p.id} = [v]; else if (f${p.id}.length < ${MAX_LIST}) f${p.id}.push(v); else return undefined; break;`);
    } else {
      lines.push(`    case ${tag}: f${p.id} = ${read(p, i)}; if (f${p.id} === undefined) return undefined; break;`);
    }
  });
  // A known field with another wire type: protobufjs would read it anyway, as its declared type; not ours to guess.
  lines.push(`    default: if (K[tag >>> 3] === 1 || !H.skip(c, tag)) return undefined;`);
  lines.push('  }');
  lines.push('}');
  const req = plans.filter((p) => p.required);
  if (req.length > 0) lines.push(`if (${req.map((p) => `f${p.id} === undefined`).join(' || ')}) return undefined;`);
  lines.push(`const d = { ${req.map((p) => `${JSON.stringify(p.name)}: f${p.id}`).join(', ')} };`);
  for (const p of plans) if (!p.required) lines.push(`if (f${p.id} !== undefined) d[${JSON.stringify(p.name)}] = f${p.id};`);
  lines.push('return d;');
  const known = new Uint8Array(16);
  for (const p of plans) known[p.id] = 1;
  // Source generated from the .proto's field names and numbers only (no record data).
  return new Function('H', 'P', 'K', `return function decode${type.name}(c, subject, time) {\n${lines.join('\n')}\n};`)(HELPERS, plans, known) as Decoder;
}

let decoders: Map<string, Decoder> | undefined;

function decoderTable(): Map<string, Decoder> {
  if (decoders !== undefined) return decoders;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(PROTO_DIR, target));
  root.loadSync(EVENTS_PROTO_FILE, { keepCase: false });
  root.resolveAll();
  const componentShape = (DATA_SCHEMAS['vn.gov.tthc.dossier.received'].shape.components as unknown as { unwrap(): { element: { shape: Record<string, unknown> } } })
    .unwrap()
    .element.shape;
  const out = new Map<string, Decoder>();
  for (const name of EVENT_NAMES) {
    const type = `${TYPE_PREFIX}${name}` as keyof typeof DATA_SCHEMAS;
    const decode = generate(root.lookupType(`iocbus.events.v1.${PROTO_MESSAGE[name]}`), DATA_SCHEMAS[type].shape, true, componentShape);
    if (decode !== undefined) out.set(type, decode);
  }
  decoders = out;
  return out;
}

/** Event types the fast path decodes (every one, unless a field of a kind it does not read was added). */
export function fastDecodedTypes(): string[] {
  return [...decoderTable().keys()];
}

// ---- the envelope --------------------------------------------------------------------------------------

/** A string attribute (events `attributeString`, and `code` for the subject): 1..max chars, then the char rule. */
function attribute(s: string, max: number, allowSpace: boolean): boolean {
  return s.length > 0 && s.length <= max && scan(s, allowSpace, false);
}

/** The last source that passed its check: consecutive records share the string (the bus reuses it). */
let checkedSource = '';

/** True when the headers are the seven the gateway writes; otherwise nothing else the full decoder reads. */
function onlyEnvelope(h: Record<string, string>): boolean {
  let n = 0;
  for (const _ in h) n++;
  if (n === 7) return true;
  for (const name in h) {
    if (ENVELOPE_HEADERS.has(name)) continue;
    const lower = name.toLowerCase();
    // Extension attributes, dataschema, datacontenttype, a second content-type spelt otherwise: the full decoder's.
    if (lower.startsWith('ce_') || lower === 'content-type') return false;
  }
  return true;
}

const ENVELOPE_HEADERS = new Set(['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_time', 'ce_subject', 'content-type']);
const cursor: Cursor = { b: Buffer.alloc(0), p: 0, end: 0 };

/** The fast path alone: the event, or undefined when the record needs the full decoder. */
export function fastDecode(record: ConsumedRecord): DossierEvent | undefined {
  const h = record.headers;
  const type = h.ce_type;
  const decode = type === undefined ? undefined : decoderTable().get(type);
  if (decode === undefined || h['content-type'] !== PROTOBUF_CONTENT_TYPE || h.ce_specversion !== '1.0') return undefined;
  const { ce_id: id, ce_source: source, ce_time: time, ce_subject: subject } = h;
  if (id === undefined || source === undefined || time === undefined || subject === undefined || record.key !== subject) return undefined;
  if (!attribute(subject, 100, false) || !attribute(id, 256, true) || !isRfc3339(time)) return undefined;
  if (source !== checkedSource) {
    if (!attribute(source, 512, false)) return undefined;
    checkedSource = source;
  }
  if (!onlyEnvelope(h)) return undefined;
  const value = record.value;
  cursor.b = value;
  cursor.p = 0;
  cursor.end = value.length;
  const data = decode(cursor, subject, time);
  cursor.b = EMPTY; // do not keep the record's bytes alive
  if (data === undefined) return undefined;
  return { specversion: '1.0', id, source, type, time, subject, data } as unknown as DossierEvent;
}

const EMPTY = Buffer.alloc(0);

/** Decodes one record of the events topic; throws EventDecodeError (from the full decoder) for a poison record. */
export function decodeEvent(record: ConsumedRecord): DossierEvent {
  return fastDecode(record) ?? fromKafkaRecord(record);
}
