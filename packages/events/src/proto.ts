/**
 * The protobuf side of the events: loads proto/iocbus/events/v1/dossier_events.proto once (lazily, on first
 * use) with protobufjs and converts between a type's JSON-shaped data and its protobuf message.
 *
 * Proto field names are the snake_case of the JSON names, and protobufjs camel-cases them on load, so a
 * message and the JSON data share keys; only enums (JSON "online" ↔ CHANNEL_ONLINE) and int64 (Long)
 * need translating.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { EVENT_NAMES, PROTO_MESSAGE, eventNameOf, type EventName, type EventType } from './names.js';
import { messageWriter, writerFields, type MessageWriter } from './proto-writer.js';

/** Folder holding the iocbus .proto files (the buf module root). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const EVENTS_PROTO_FILE = 'iocbus/events/v1/dossier_events.proto';
export const EVENTS_PACKAGE = 'iocbus.events.v1';

interface FieldInfo {
  name: string;
  /** JSON string ↔ proto enum number, when the field is an enum. */
  enumToNumber?: Map<string, number>;
  enumToJson?: Map<number, string>;
  enumNameToJson?: Map<string, string>;
  enumJsonToName?: Map<string, string>;
  /** Fields of a message-typed field (Component). */
  subFields?: FieldInfo[];
  long: boolean;
  repeated: boolean;
}

export interface DataCodec {
  name: EventName;
  /** Camel-cased oneof case name in CloudEvent (intake_rejected → intakeRejected). */
  caseName: string;
  type: protobuf.Type;
  fields: FieldInfo[];
  enumFields: FieldInfo[];
  /** The hand-written encoder (proto-writer.ts). */
  write: MessageWriter;
}

export interface ProtoModel {
  root: protobuf.Root;
  cloudEvent: protobuf.Type;
  codecs: ReadonlyMap<string, DataCodec>;
  byCase: ReadonlyMap<string, DataCodec>;
}

function enumMaps(e: protobuf.Enum): Pick<FieldInfo, 'enumToNumber' | 'enumToJson' | 'enumNameToJson' | 'enumJsonToName'> {
  // Buf style prefixes each value with the enum's UPPER_SNAKE name: Channel.CHANNEL_ONLINE ↔ "online".
  const prefix = `${e.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_`;
  const enumToNumber = new Map<string, number>();
  const enumToJson = new Map<number, string>();
  const enumNameToJson = new Map<string, string>();
  const enumJsonToName = new Map<string, string>();
  for (const [valueName, num] of Object.entries(e.values)) {
    if (num === 0) continue; // *_UNSPECIFIED: never a valid value
    const json = valueName.slice(prefix.length).toLowerCase();
    enumToNumber.set(json, num);
    enumToJson.set(num, json);
    enumNameToJson.set(valueName, json);
    enumJsonToName.set(json, valueName);
  }
  return { enumToNumber, enumToJson, enumNameToJson, enumJsonToName };
}

function fieldInfo(f: protobuf.Field): FieldInfo {
  const rt = f.resolvedType;
  const info: FieldInfo = {
    name: f.name,
    long: f.type === 'int64' || f.type === 'uint64' || f.type === 'sint64' || f.type === 'fixed64' || f.type === 'sfixed64',
    repeated: f.repeated,
  };
  if (rt instanceof protobuf.Enum) Object.assign(info, enumMaps(rt));
  else if (rt instanceof protobuf.Type) info.subFields = rt.fieldsArray.map(fieldInfo);
  return info;
}

export function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

let model: ProtoModel | undefined;

export function protoModel(): ProtoModel {
  if (model !== undefined) return model;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${PROTO_DIR}${target}`);
  root.loadSync(EVENTS_PROTO_FILE, { keepCase: false });
  root.resolveAll();
  const codecs = new Map<string, DataCodec>();
  const byCase = new Map<string, DataCodec>();
  for (const name of EVENT_NAMES) {
    const type = root.lookupType(`${EVENTS_PACKAGE}.${PROTO_MESSAGE[name]}`);
    const fields = type.fieldsArray.map(fieldInfo);
    const write = messageWriter(writerFields(type, (e) => enumMaps(e).enumToNumber as Map<string, number>));
    const codec: DataCodec = { name, caseName: camelCase(name), type, fields, enumFields: fields.filter((f) => f.enumToNumber), write };
    codecs.set(`vn.gov.tthc.dossier.${name}`, codec);
    byCase.set(codec.caseName, codec);
  }
  model = { root, cloudEvent: root.lookupType(`${EVENTS_PACKAGE}.CloudEvent`), codecs, byCase };
  return model;
}

export function codecFor(type: EventType): DataCodec {
  const c = protoModel().codecs.get(type);
  if (c === undefined) throw new Error(`no protobuf codec for ${eventNameOf(type)}`);
  return c;
}

/** JSON-shaped data (already validated) → protobuf bytes, in one exactly-sized Buffer (proto-writer.ts). */
export function encodeData(type: EventType, data: object): Buffer {
  return codecFor(type).write(data as Record<string, unknown>);
}

/**
 * The same through protobufjs's generated encoder: the reference encodeData is property-tested against
 * (proto-writer.test.ts) and benchmarked against (bench/events-codec.bench.ts).
 */
export function encodeDataWithProtobufjs(type: EventType, data: object): Uint8Array {
  const codec = codecFor(type);
  let msg = data as Record<string, unknown>;
  if (codec.enumFields.length > 0) {
    msg = { ...msg };
    for (const f of codec.enumFields) {
      const v = msg[f.name];
      if (typeof v === 'string') msg[f.name] = f.enumToNumber?.get(v);
    }
  }
  return codec.type.encode(msg).finish();
}

function toNumber(v: unknown): unknown {
  if (typeof v === 'object' && v !== null && 'toNumber' in v && typeof v.toNumber === 'function') return v.toNumber() as number;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return v;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * A protobuf message (protobufjs instance or a plain object from toObject/proto-loader) → JSON-shaped data.
 * Values that do not map (an unknown enum number) are passed through unchanged so validation reports them
 * with the field's path. Empty repeated fields are treated as absent (protobuf cannot tell them apart).
 */
export function messageToJson(fields: readonly FieldInfo[], msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!hasOwn.call(msg, f.name)) continue;
    let v = msg[f.name];
    if (v === null || v === undefined) continue;
    if (f.repeated) {
      if (!Array.isArray(v) || v.length === 0) {
        if (!Array.isArray(v)) out[f.name] = v;
        continue;
      }
      const sub = f.subFields;
      out[f.name] =
        sub === undefined
          ? [...v]
          : v.map((item) => (typeof item === 'object' && item !== null ? messageToJson(sub, item as Record<string, unknown>) : item));
      continue;
    }
    if (f.enumToJson !== undefined) {
      if (typeof v === 'number') v = f.enumToJson.get(v) ?? v;
      else if (typeof v === 'string') v = f.enumNameToJson?.get(v) ?? v;
    } else if (f.long) {
      v = toNumber(v);
    }
    out[f.name] = v;
  }
  return out;
}

/** Protobuf bytes → JSON-shaped data (unvalidated). Throws on malformed bytes. */
export function decodeData(type: EventType, bytes: Uint8Array): Record<string, unknown> {
  const codec = codecFor(type);
  const msg = decodeStrict(codec.type, bytes) as unknown as Record<string, unknown>;
  return messageToJson(codec.fields, msg);
}

/**
 * protobufjs's Buffer reader clamps an over-long string length to the end of the buffer instead of
 * failing (reader_buffer.js, read_string_buffer), so a truncated record would decode "successfully".
 * Same fast utf8Slice, with the bounds check.
 */
class StrictBufferReader extends protobuf.BufferReader {
  override string(): string {
    const len = this.uint32();
    const start = this.pos;
    const end = start + len;
    if (end > this.len) throw new RangeError(`index out of range: ${start} + ${len} > ${this.len}`);
    this.pos = end;
    return (this.buf as Buffer).toString('utf8', start, end);
  }
}

/**
 * protobufjs decode with the bounds checks it lacks: strings (above), and 64-bit varints, whose reader
 * takes a 4th byte past the end unchecked — so also verify the reader stopped exactly at the end.
 */
export function decodeStrict(type: protobuf.Type, bytes: Uint8Array): protobuf.Message {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = new StrictBufferReader(buf);
  const msg = type.decode(reader);
  if (reader.pos !== reader.len) throw new RangeError(`truncated input: read past the end (${reader.pos} > ${reader.len} bytes)`);
  return msg;
}
