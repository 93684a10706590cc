/**
 * PublishStreamRequest bytes → { sequence, candidate }: the PublishStream request deserializer. Through
 * proto-loader each message was decoded twice over (protobufjs `decode` into message instances, `toObject`
 * into plain objects with enum names and oneof case names), then fromProtoCloudEvent copied that into the
 * JSON-shaped candidate (enum names → JSON values) before validating it: three object trees and a Map lookup
 * per enum before the validator builds the event. Here the bytes are read once, straight into the candidate
 * fromProtoCloudEvent would build (envelope attributes, then extensions, then `data` with JSON enum values),
 * which then goes through the same validateCandidate.
 *
 * Only the usual case is read this way: one data case whose type matches, `datacontenttype` empty or
 * application/protobuf, extensions with ordinary names, and an event that validates. Anything else —
 * an invalid event, unusual bytes (a truncated field, a wire type that does not match, an over-long varint) —
 * goes the old way, proto-loader's deserializer and fromProtoCloudEvent, so its result (problems and their
 * paths included) is exactly what it was. stream-request.test.ts checks both against the old way.
 */
import { protoModel, validateCandidate, type DataCodec } from '@iocbus/events';
import { protoCandidate } from './grpc-common.js';
import type { Candidate } from './ingest.js';

/** What the PublishStream handler receives per message. */
export interface StreamRequest {
  /** 0 when absent, as proto3 reads it. */
  sequence: number;
  candidate: Candidate;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

/** Thrown for anything the fast path leaves to the old one. */
class NotHere extends Error {}
const notHere = new NotHere('left to proto-loader');

class Reader {
  pos = 0;
  end: number;
  constructor(readonly buf: Buffer) {
    this.end = buf.length;
  }

  /** A varint of at most 5 bytes, as unsigned 32 bits (protobufjs reads longer ones its own way). */
  uint32(): number {
    const buf = this.buf;
    let b = buf[this.pos++] as number;
    if (b < 0x80 && this.pos <= this.end) return b;
    let value = b & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw notHere;
      b = buf[this.pos++] as number;
      value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    throw notHere;
  }

  /** A varint of at most 10 bytes, as [low, high] unsigned 32-bit halves. */
  long(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (this.pos >= this.end || i === 10) throw notHere;
      const b = this.buf[this.pos++] as number;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
  }

  lengthEnd(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.end) throw notHere;
    return end;
  }

  string(): string {
    const end = this.lengthEnd();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.long();
    else if (wireType === WIRE_LEN) this.pos = this.lengthEnd();
    else if (wireType === WIRE_FIXED64) this.pos += 8;
    else if (wireType === WIRE_FIXED32) this.pos += 4;
    else throw notHere;
    if (this.pos > this.end) throw notHere;
  }
}

const want = (wireType: number, expected: number): void => {
  if (wireType !== expected) throw notHere;
};

/** protobufjs's Long.toNumber of the 64-bit value. */
const longToNumber = ([lo, hi]: [number, number], signed: boolean): number => (signed ? hi | 0 : hi) * 4294967296 + lo;

type Obj = Record<string, unknown>;
/** Reads one occurrence of a field (its tag already read) into the JSON-shaped data object. */
type FieldReader = (r: Reader, out: Obj, wireType: number) => void;

/** The parts of the codecs' protobufjs reflection read here (structural: no protobufjs import needed). */
interface ReflectedField {
  name: string;
  id: number;
  type: string;
  repeated: boolean;
  map: boolean;
  resolvedType: { valuesById?: Record<number, string>; fieldsArray?: ReflectedField[] } | null;
}

/** The events package's per-field info (proto.ts FieldInfo): the JSON value of each enum number. */
interface FieldInfo {
  name: string;
  enumToJson?: Map<number, string>;
  subFields?: FieldInfo[];
}

/**
 * A data message's fields by number, giving what messageToJson gives for proto-loader's object: enums as
 * their JSON value (an unknown number stays a number, *_UNSPECIFIED stays its name, as there), longs as
 * numbers, Components as JSON-shaped objects. No virtual `_field` keys (messageToJson copies declared fields).
 */
function dataReaders(fields: readonly ReflectedField[], infos: readonly FieldInfo[]): FieldReader[] {
  const readers: FieldReader[] = [];
  for (const field of fields) {
    const { name } = field;
    const rt = field.resolvedType;
    const info = infos.find((i) => i.name === name);
    let read: (r: Reader, w: number) => unknown;
    if (field.map || info === undefined) throw new Error(`stream-request: cannot read ${name} of event data`);
    if (rt?.valuesById !== undefined) {
      const byId = rt.valuesById;
      const toJson = info.enumToJson ?? new Map<number, string>();
      read = (r, w) => {
        want(w, WIRE_VARINT);
        const start = r.pos;
        const [lo] = r.long();
        // protobufjs's int32 skips a varint's bytes 6-10 blindly: only 1-5 or 10 bytes read the same.
        if (r.pos - start > 5 && r.pos - start < 10) throw notHere;
        const n = lo | 0;
        return toJson.get(n) ?? byId[n] ?? n;
      };
    } else if (rt?.fieldsArray !== undefined) {
      const sub = dataReaders(rt.fieldsArray, info.subFields ?? []);
      read = (r, w) => {
        want(w, WIRE_LEN);
        return readData(r, r.lengthEnd(), sub);
      };
    } else if (field.type === 'string') {
      read = (r, w) => {
        want(w, WIRE_LEN);
        return r.string();
      };
    } else if (field.type === 'bool') {
      read = (r, w) => {
        want(w, WIRE_VARINT);
        return r.uint32() !== 0;
      };
    } else if (field.type === 'double') {
      read = (r, w) => {
        want(w, WIRE_FIXED64);
        if (r.pos + 8 > r.end) throw notHere;
        const v = r.buf.readDoubleLE(r.pos);
        r.pos += 8;
        return v;
      };
    } else if (field.type === 'int64') {
      read = (r, w) => {
        want(w, WIRE_VARINT);
        return longToNumber(r.long(), true);
      };
    } else {
      throw new Error(`stream-request: no reader for ${field.type} (field ${name}); add one`);
    }
    if (field.repeated) {
      if (rt?.fieldsArray === undefined && field.type !== 'string') throw new Error(`stream-request: packed field ${name}`);
      readers[field.id] = (r, out, w) => ((out[name] ??= []) as unknown[]).push(read(r, w));
    } else {
      readers[field.id] = (r, out, w) => (out[name] = read(r, w));
    }
  }
  return readers;
}

function readData(r: Reader, end: number, readers: readonly (FieldReader | undefined)[]): Obj {
  const outerEnd = r.end;
  r.end = end;
  const out: Obj = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const read = readers[tag >>> 3];
    if (read === undefined) r.skip(tag & 7);
    else read(r, out, tag & 7);
  }
  if (r.pos !== end) throw notHere;
  r.end = outerEnd;
  return out;
}

interface DataCase {
  codec: DataCodec;
  type: string;
  readers: FieldReader[];
}

let cases: (DataCase | undefined)[] | undefined;

/** The CloudEvent `data` oneof by field number (20…36), from the events package's codecs. */
function dataCases(): (DataCase | undefined)[] {
  if (cases !== undefined) return cases;
  const model = protoModel();
  const byNumber: (DataCase | undefined)[] = [];
  for (const field of model.cloudEvent.fieldsArray) {
    const codec = model.byCase.get(field.name);
    if (codec === undefined) continue;
    byNumber[field.id] = {
      codec,
      type: `vn.gov.tthc.dossier.${codec.name}`,
      readers: dataReaders(codec.type.fieldsArray as unknown as ReflectedField[], codec.fields as readonly FieldInfo[]),
    };
  }
  cases = byNumber;
  return byNumber;
}

// Names an extension may not have (fromProtoCloudEvent reports them): the envelope, datacontenttype, data.
const RESERVED = new Set(['specversion', 'id', 'source', 'type', 'time', 'subject', 'dataschema', 'datacontenttype', 'data']);

/** The fast path: the candidate of a usual, valid event; throws NotHere for anything else. */
function fastRequest(buf: Buffer): StreamRequest {
  const byNumber = dataCases();
  const r = new Reader(buf);
  let sequence = 0;
  let eventEnd = -1;
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === 0x08) sequence = longToNumber(r.long(), false);
    else if (tag === 0x12) {
      if (eventEnd !== -1) throw notHere; // a second event field merges into the first: proto-loader's business
      eventEnd = r.lengthEnd();
      r.end = eventEnd;
      break;
    } else if (tag >>> 3 === 1 || tag >>> 3 === 2) throw notHere;
    else r.skip(tag & 7);
  }
  if (eventEnd === -1) throw notHere;

  let specversion = '';
  let id = '';
  let source = '';
  let type = '';
  let time = '';
  let subject = '';
  let datacontenttype = '';
  let dataschema = '';
  let extensions: Obj | undefined;
  let dataCase: DataCase | undefined;
  let data: Obj | undefined;
  while (r.pos < eventEnd) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    if (no <= 8 && no >= 1) {
      want(wire, WIRE_LEN);
      const s = r.string();
      if (no === 1) specversion = s;
      else if (no === 2) id = s;
      else if (no === 3) source = s;
      else if (no === 4) type = s;
      else if (no === 5) time = s;
      else if (no === 6) subject = s;
      else if (no === 7) datacontenttype = s;
      else dataschema = s;
    } else if (no === 9) {
      want(wire, WIRE_LEN);
      const end = r.lengthEnd();
      let key = '';
      let value = '';
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 0x0a) key = r.string();
        else if (t === 0x12) value = r.string();
        else if (t >>> 3 === 1 || t >>> 3 === 2) throw notHere;
        else r.skip(t & 7);
      }
      if (r.pos !== end || RESERVED.has(key) || key === '__proto__') throw notHere;
      (extensions ??= {})[key] = value;
    } else {
      const c = byNumber[no];
      if (c === undefined) r.skip(wire);
      else {
        want(wire, WIRE_LEN);
        if (dataCase !== undefined && dataCase !== c) throw notHere; // two data cases: a problem to report
        dataCase = c;
        data = readData(r, r.lengthEnd(), c.readers);
      }
    }
  }
  if (r.pos !== eventEnd) throw notHere;
  r.end = buf.length;
  // Fields after the event (unknown ones, or a second sequence) are proto-loader's to read.
  if (r.pos !== r.end) throw notHere;
  if (dataCase === undefined || type !== dataCase.type) throw notHere;
  if (datacontenttype !== '' && datacontenttype !== 'application/protobuf') throw notHere;

  // The candidate as fromProtoCloudEvent builds it: envelope attributes set (proto3 "" is unset), in this
  // order, then the extensions, then data.
  const candidate: Obj = {};
  if (specversion !== '') candidate.specversion = specversion;
  if (id !== '') candidate.id = id;
  if (source !== '') candidate.source = source;
  candidate.type = type;
  if (time !== '') candidate.time = time;
  if (subject !== '') candidate.subject = subject;
  if (dataschema !== '') candidate.dataschema = dataschema;
  if (extensions !== undefined) for (const name in extensions) candidate[name] = extensions[name];
  candidate.data = data;
  const result = validateCandidate(candidate, { jsonContentType: false });
  if (!result.ok) throw notHere;
  return { sequence, candidate: result };
}

/** The old way: proto-loader's object, then fromProtoCloudEvent (via protoCandidate). */
export function slowRequest(bytes: Buffer, deserialize: (bytes: Buffer) => unknown): StreamRequest {
  const message = deserialize(bytes) as { sequence?: number | string; event?: unknown };
  return { sequence: Number(message.sequence ?? 0), candidate: protoCandidate(message.event ?? {}) };
}

/** The fast path alone: undefined where it leaves the message to the old way (exported for tests and benchmarks). */
export function fastStreamRequest(bytes: Buffer): StreamRequest | undefined {
  try {
    return fastRequest(bytes);
  } catch {
    // NotHere, or anything unforeseen: the old way decides.
    return undefined;
  }
}

/**
 * The PublishStream request deserializer, given proto-loader's. Throws (so that grpc-js ends the call with
 * INTERNAL) only where proto-loader's throws.
 */
export function streamRequestDeserializer(deserialize: (bytes: Buffer) => unknown): (bytes: Buffer) => StreamRequest {
  return (bytes) => fastStreamRequest(bytes) ?? slowRequest(bytes, deserialize);
}
