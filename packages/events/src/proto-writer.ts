/**
 * The protobuf encoder of event data on the gateway's hot path: what protobufjs's generated `encode` writes,
 * byte for byte (property-tested in proto-writer.test.ts), without its Writer — which queues one operation
 * object per field and copies them into a buffer in `finish()` — and without the `{ ...data }` copy that
 * mapping enum strings to numbers needed. A message is measured once (string lengths kept in a scratch
 * array), then written straight into one Buffer of exactly that size.
 *
 * The tables come from the .proto's reflection (protobufjs), so a field added to the .proto is encoded
 * without touching this file; from each table one measuring and one writing function are generated, as
 * protobufjs generates its encoders, with the field names as literals. What protobufjs does and this
 * mirrors: fields in field-number order; a field is written when its value is neither null nor undefined
 * (proto3 `optional` or not, defaults included); repeated fields only when non-empty, strings and messages
 * unpacked; enums as varints (none is negative); bool as 0/1; int64 from a JS number; double as 8
 * little-endian bytes.
 *
 * Inputs are validated events (strings well-formed, numbers in range); that is the contract of encodeData.
 */
import protobuf from 'protobufjs';
import { uint32VarintSize, varintSize, writeUint32Varint, writeVarint } from './varint.js';

const enum Kind {
  String,
  Bool,
  Enum,
  Int64,
  Double,
  Message,
}

export interface WriterField {
  /** JSON (camelCase) name: the key in the event's data. */
  readonly name: string;
  /** The field's key (field number << 3 | wire type), as varint bytes. */
  readonly key: readonly number[];
  readonly kind: Kind;
  readonly repeated: boolean;
  /** Enum fields: JSON string → number; a string it does not list is not written (as encodeData did). */
  readonly enumNumber?: ReadonlyMap<string, number>;
  /** Message fields: the nested message's fields. */
  readonly sub?: readonly WriterField[];
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v > 127) {
    out.push((v & 127) | 128);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function kindOf(f: protobuf.Field): Kind {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Enum) return Kind.Enum;
  if (rt instanceof protobuf.Type) return Kind.Message;
  switch (f.type) {
    case 'string':
      return Kind.String;
    case 'bool':
      return Kind.Bool;
    case 'int64':
      return Kind.Int64;
    case 'double':
      return Kind.Double;
    default:
      // The event messages use only the types above; a new one must be added here (and to the test).
      throw new Error(`proto-writer: field ${f.fullName} has type ${f.type}, which this writer does not encode`);
  }
}

const WIRE: Record<Kind, number> = {
  [Kind.String]: WIRE_LENGTH,
  [Kind.Bool]: WIRE_VARINT,
  [Kind.Enum]: WIRE_VARINT,
  [Kind.Int64]: WIRE_VARINT,
  [Kind.Double]: WIRE_FIXED64,
  [Kind.Message]: WIRE_LENGTH,
};

/** The writer's table for a message type, in field-number order (protobufjs's encode order). */
export function writerFields(type: protobuf.Type, enumNumber: (e: protobuf.Enum) => ReadonlyMap<string, number>): WriterField[] {
  const sorted = type.fieldsArray.slice().sort((a, b) => a.id - b.id);
  return sorted.map((f) => {
    if (f.map) throw new Error(`proto-writer: map field ${f.fullName} is not supported`);
    const kind = kindOf(f);
    const rt = f.resolvedType;
    if (rt instanceof protobuf.Enum && Object.values(rt.values).some((n) => n < 0)) {
      // protobufjs writes a negative enum as a 10-byte int32 varint; no event enum has one.
      throw new Error(`proto-writer: enum ${rt.fullName} has a negative value, which this writer does not encode`);
    }
    const field: WriterField = {
      name: f.name,
      key: varintBytes(((f.id << 3) | WIRE[kind]) >>> 0),
      kind,
      repeated: f.repeated,
      ...(rt instanceof protobuf.Enum ? { enumNumber: enumNumber(rt) } : {}),
      ...(rt instanceof protobuf.Type ? { sub: writerFields(rt, enumNumber) } : {}),
    };
    return field;
  });
}

/** UTF-8 length of a well-formed string, computed in JS (no call into C++ for short ASCII codes). */
function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two code units, four bytes. (Validation refuses lone surrogates (chars.ts); were
      // one here, Buffer#write would make it U+FFFD, three bytes, as the else branch counts.)
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

function writeString(buf: Buffer, at: number, s: string, n: number): number {
  if (n === s.length && n <= 64) {
    // ASCII: a JS copy beats the call into C++ for short strings.
    for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
  } else buf.write(s, at, n, 'utf8');
  return at + n;
}

function writeDouble(buf: Buffer, at: number, v: number): number {
  buf.writeDoubleLE(v, at);
  return at + 8;
}

/**
 * Scratch shared by the measuring and the writing pass: byte lengths of strings and nested messages, pushed
 * in field order by the first and read back in the same order by the second (`n` written, `r` read).
 * Encoding is synchronous and never re-entered.
 */
interface Scratch {
  lengths: number[];
  n: number;
  r: number;
}

/** Exported for its test: must equal Buffer.byteLength(s, 'utf8') for every string. */
export { utf8Length };

const HELPERS = { utf8Length, uint32VarintSize, varintSize, writeUint32Varint, writeVarint, writeString, writeDouble };

/**
 * Generated source for one message: `measure(m)` returns its size, `write(buf, at, m)` writes it. Property
 * names are literals, so each access site sees one object shape (a data-driven `m[f.name]` was megamorphic:
 * half the encoder's time).
 */
function generate(fields: readonly WriterField[], subs: WriterField[][], enums: ReadonlyMap<string, number>[]): { measure: string; write: string } {
  const measure: string[] = ['let s = 0, v, x, n, e, slot;'];
  const write: string[] = ['let v, x, n, e;'];
  fields.forEach((f) => {
    const name = JSON.stringify(f.name);
    const k = f.key.length;
    const keyBytes = f.key.map((b) => `buf[at++] = ${b};`).join(' ');
    let m: string;
    let w: string;
    switch (f.kind) {
      case Kind.String:
        m = `n = h.utf8Length(x); S.lengths[S.n++] = n; s += ${k} + h.uint32VarintSize(n) + n;`;
        w = `n = S.lengths[S.r++]; ${keyBytes} at = h.writeUint32Varint(buf, at, n); at = h.writeString(buf, at, x, n);`;
        break;
      case Kind.Bool:
        m = `s += ${k + 1};`;
        w = `${keyBytes} buf[at++] = x ? 1 : 0;`;
        break;
      case Kind.Enum: {
        const i = enums.push(f.enumNumber as ReadonlyMap<string, number>) - 1;
        m = `e = E[${i}].get(x); if (e !== undefined) s += ${k} + h.uint32VarintSize(e);`;
        w = `e = E[${i}].get(x); if (e !== undefined) { ${keyBytes} at = h.writeUint32Varint(buf, at, e); }`;
        break;
      }
      case Kind.Int64:
        m = `s += ${k} + h.varintSize(x);`;
        w = `${keyBytes} at = h.writeVarint(buf, at, x);`;
        break;
      case Kind.Double:
        m = `s += ${k + 8};`;
        w = `${keyBytes} at = h.writeDouble(buf, at, x);`;
        break;
      case Kind.Message: {
        const i = subs.push(f.sub as WriterField[]) - 1;
        // The nested message's length is written before its fields' lengths: reserve its slot first.
        m = `slot = S.n++; n = M[${i}](x); S.lengths[slot] = n; s += ${k} + h.uint32VarintSize(n) + n;`;
        w = `n = S.lengths[S.r++]; ${keyBytes} at = h.writeUint32Varint(buf, at, n); at = W[${i}](buf, at, x);`;
        break;
      }
    }
    const each = (body: string): string =>
      f.repeated ? `for (let j = 0; j < v.length; j++) { x = v[j]; ${body} }` : `x = v; ${body}`;
    measure.push(`v = m[${name}]; if (v !== undefined && v !== null) { ${each(m)} }`);
    write.push(`v = m[${name}]; if (v !== undefined && v !== null) { ${each(w)} }`);
  });
  measure.push('return s;');
  write.push('return at;');
  return { measure: measure.join('\n'), write: write.join('\n') };
}

type Measure = (m: Record<string, unknown>) => number;
type Write = (buf: Buffer, at: number, m: Record<string, unknown>) => number;

function compile(fields: readonly WriterField[], scratch: Scratch): { measure: Measure; write: Write } {
  const subs: WriterField[][] = [];
  const enums: ReadonlyMap<string, number>[] = [];
  const src = generate(fields, subs, enums);
  const nested = subs.map((sub) => compile(sub, scratch));
  const M = nested.map((c) => c.measure);
  const W = nested.map((c) => c.write);
  // Source generated from the .proto's reflection only (no input data), as protobufjs builds its own.
  const measure = new Function('h', 'S', 'E', 'M', `return function measure(m) {\n${src.measure}\n};`)(HELPERS, scratch, enums, M) as Measure;
  const write = new Function('h', 'S', 'E', 'W', `return function write(buf, at, m) {\n${src.write}\n};`)(HELPERS, scratch, enums, W) as Write;
  return { measure, write };
}

export type MessageWriter = (msg: Record<string, unknown>) => Buffer;

/** An encoder for JSON-shaped (validated) data of the message `fields` describe: one exactly-sized Buffer. */
export function messageWriter(fields: readonly WriterField[]): MessageWriter {
  const scratch: Scratch = { lengths: [], n: 0, r: 0 };
  const { measure, write } = compile(fields, scratch);
  return (msg) => {
    scratch.n = 0;
    const size = measure(msg);
    // Every byte is written, so the (pooled) unzeroed allocation is safe.
    const buf = Buffer.allocUnsafe(size);
    scratch.r = 0;
    const end = write(buf, 0, msg);
    if (end !== size || scratch.r !== scratch.n) throw new Error(`proto-writer: wrote ${end} of ${size} bytes`);
    return buf;
  };
}
