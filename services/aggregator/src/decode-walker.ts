/**
 * The aggregator's previous fast decoder, kept as a reference: a table-driven protobuf walker that builds
 * each event's data with data-driven property names and re-checks only what the engine relies on. decode.ts
 * replaced it on the hot path; its tests hold the new decoder to the same results on valid events, and
 * bench/pipeline.bench.ts measures the two side by side on the catch-up records.
 */
import { join } from 'node:path';
import type { ConsumedRecord } from '@iocbus/bus';
import {
  EVENT_NAMES,
  EVENTS_PROTO_FILE,
  PROTOBUF_CONTENT_TYPE,
  PROTO_DIR,
  PROTO_MESSAGE,
  TYPE_PREFIX,
  toEpochMs,
  type DossierEvent,
} from '@iocbus/events';
import protobuf from 'protobufjs';

const enum Kind {
  String,
  Bool,
  Enum,
  Varint,
  Sint,
  Double,
  Float,
  Message,
  Bytes,
}

interface Field {
  name: string;
  kind: Kind;
  repeated: boolean;
  /** Enum number → JSON string (Buf style: CHANNEL_ONLINE → "online"); 0 (UNSPECIFIED) is absent. */
  enumJson?: (string | undefined)[];
  /** Message fields: the nested message's table, by field number. */
  sub?: (Field | undefined)[];
}

type Check = 'string' | 'time' | 'enum' | 'amount' | 'bool' | 'list';

/** Fields the engine relies on, beyond the common ones, per event name (SPEC §1 "required extra data"). */
const REQUIRED: Record<string, Record<string, Check>> = {
  submitted: { channel: 'enum' },
  received: { receivedAt: 'time', dueAt: 'time', channel: 'enum', applicantType: 'enum' },
  intake_rejected: { reason: 'string' },
  digitized: { componentCodes: 'list' },
  transferred: { fromUnitCode: 'string', toUnitCode: 'string' },
  supplement_requested: { requestedAt: 'time' },
  supplement_received: { suppliedAt: 'time' },
  fee_requested: { amount: 'amount' },
  fee_paid: { paidAt: 'time', amount: 'amount', method: 'enum' },
  deadline_extended: { oldDueAt: 'time', newDueAt: 'time' },
  withdrawn: { withdrawnAt: 'time' },
  stopped: { stoppedAt: 'time', reason: 'string' },
  resolved: { resolvedAt: 'time' },
  result_issued: { electronic: 'bool' },
  result_returned: { returnedAt: 'time', method: 'enum' },
  rated: { rating: 'enum' },
  synced_national: { syncedAt: 'time' },
};
const COMMON: Record<string, Check> = { dossierCode: 'string', procedureCode: 'string', unitCode: 'string', occurredAt: 'time' };

interface TypeInfo {
  fields: (Field | undefined)[];
  required: [string, Check][];
  /** Optional fields holding timestamps: checked when present. */
  optionalTimes: string[];
}

function enumJson(e: protobuf.Enum): (string | undefined)[] {
  const prefix = `${e.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_`;
  const out: (string | undefined)[] = [];
  for (const [valueName, num] of Object.entries(e.values)) if (num !== 0) out[num] = valueName.slice(prefix.length).toLowerCase();
  return out;
}

function fieldTable(type: protobuf.Type): (Field | undefined)[] {
  const table: (Field | undefined)[] = [];
  for (const f of type.fieldsArray) {
    const rt = f.resolvedType;
    let kind: Kind;
    const field: Field = { name: f.name, kind: Kind.String, repeated: f.repeated };
    if (rt instanceof protobuf.Enum) {
      kind = Kind.Enum;
      field.enumJson = enumJson(rt);
    } else if (rt instanceof protobuf.Type) {
      kind = Kind.Message;
      field.sub = fieldTable(rt);
    } else {
      switch (f.type) {
        case 'string':
          kind = Kind.String;
          break;
        case 'bool':
          kind = Kind.Bool;
          break;
        case 'int32':
        case 'int64':
        case 'uint32':
        case 'uint64':
          kind = Kind.Varint;
          break;
        case 'sint32':
        case 'sint64':
          kind = Kind.Sint;
          break;
        case 'double':
          kind = Kind.Double;
          break;
        case 'float':
          kind = Kind.Float;
          break;
        case 'bytes':
          kind = Kind.Bytes;
          break;
        default:
          throw new Error(`decode.ts does not handle protobuf type ${f.type} (field ${type.name}.${f.name})`);
      }
    }
    field.kind = kind;
    table[f.id] = field;
  }
  return table;
}

let types: Map<string, TypeInfo> | undefined;

function typeInfo(): Map<string, TypeInfo> {
  if (types !== undefined) return types;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(PROTO_DIR, target));
  root.loadSync(EVENTS_PROTO_FILE, { keepCase: false });
  root.resolveAll();
  const out = new Map<string, TypeInfo>();
  for (const name of EVENT_NAMES) {
    const type = root.lookupType(`iocbus.events.v1.${PROTO_MESSAGE[name]}`);
    const fields = fieldTable(type);
    const required = Object.entries({ ...COMMON, ...(REQUIRED[name] ?? {}) });
    const optionalTimes = type.fieldsArray.map((f) => f.name).filter((n) => /At$/.test(n) && !required.some(([r]) => r === n));
    out.set(`${TYPE_PREFIX}${name}`, { fields, required, optionalTimes });
  }
  types = out;
  return out;
}

/** Thrown inside the walker; caught by fastDecode, which then defers to the full decoder. */
class Miss extends Error {}
const MISS = new Miss();

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw MISS;
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw MISS;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos += this.varint();
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        throw MISS;
    }
    if (this.pos > this.end) throw MISS;
  }
}

function readMessage(r: Reader, table: (Field | undefined)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    const id = Math.floor(tag / 8);
    const wire = tag & 7;
    const f = table[id];
    if (f === undefined) {
      r.skip(wire);
      continue;
    }
    let v: unknown;
    switch (f.kind) {
      case Kind.String: {
        if (wire !== 2) throw MISS;
        const len = r.varint();
        if (r.pos + len > r.end) throw MISS;
        v = r.buf.toString('utf8', r.pos, r.pos + len);
        r.pos += len;
        break;
      }
      case Kind.Bool:
      case Kind.Enum:
      case Kind.Varint:
      case Kind.Sint: {
        if (wire !== 0) throw MISS; // packed repeated scalars do not occur in this schema
        const n = r.varint();
        if (f.kind === Kind.Bool) v = n !== 0;
        else if (f.kind === Kind.Enum) v = f.enumJson![n] ?? n;
        else if (f.kind === Kind.Sint) v = n % 2 === 1 ? -(n + 1) / 2 : n / 2;
        else if (n >= 2 ** 53) throw MISS; // negative or huge int64: let the full decoder judge it
        else v = n;
        break;
      }
      case Kind.Double: {
        if (wire !== 1 || r.pos + 8 > r.end) throw MISS;
        v = r.buf.readDoubleLE(r.pos);
        r.pos += 8;
        break;
      }
      case Kind.Float: {
        if (wire !== 5 || r.pos + 4 > r.end) throw MISS;
        v = r.buf.readFloatLE(r.pos);
        r.pos += 4;
        break;
      }
      case Kind.Message: {
        if (wire !== 2) throw MISS;
        const len = r.varint();
        if (r.pos + len > r.end) throw MISS;
        const end = r.pos + len;
        v = readMessage(new Reader(r.buf, r.pos, end), f.sub!);
        r.pos = end;
        break;
      }
      case Kind.Bytes:
        throw MISS;
    }
    if (f.repeated) {
      const list = out[f.name] as unknown[] | undefined;
      if (list === undefined) out[f.name] = [v];
      else list.push(v);
    } else {
      out[f.name] = v;
    }
  }
  if (r.pos !== r.end) throw MISS;
  return out;
}

const ENVELOPE_HEADERS = new Set(['ce_specversion', 'ce_id', 'ce_source', 'ce_type', 'ce_time', 'ce_subject', 'content-type']);

function checked(data: Record<string, unknown>, info: TypeInfo): boolean {
  for (const [name, check] of info.required) {
    const v = data[name];
    switch (check) {
      case 'string':
        if (typeof v !== 'string' || v === '') return false;
        break;
      case 'time':
        if (typeof v !== 'string' || !Number.isFinite(toEpochMs(v))) return false;
        break;
      case 'enum':
        if (typeof v !== 'string') return false;
        break;
      case 'amount':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return false;
        break;
      case 'bool':
        if (typeof v !== 'boolean') return false;
        break;
      case 'list':
        if (!Array.isArray(v) || v.length === 0) return false;
        break;
    }
  }
  for (const name of info.optionalTimes) {
    const v = data[name];
    if (v !== undefined && (typeof v !== 'string' || !Number.isFinite(toEpochMs(v)))) return false;
  }
  const comps = data.components as Record<string, unknown>[] | undefined;
  if (comps !== undefined) for (const c of comps) if (typeof c.code !== 'string' || c.code === '' || typeof c.digitized !== 'boolean') return false;
  return true;
}

/** The fast path alone: the event, or undefined when the record needs the full decoder. */
export function walkerDecode(record: ConsumedRecord): DossierEvent | undefined {
  const h = record.headers;
  if (h['content-type'] !== PROTOBUF_CONTENT_TYPE || h.ce_specversion !== '1.0') return undefined;
  const type = h.ce_type;
  const info = type === undefined ? undefined : typeInfo().get(type);
  const { ce_id: id, ce_source: source, ce_time: time, ce_subject: subject } = h;
  if (info === undefined || id === undefined || id === '' || source === undefined || source === '' || time === undefined || subject === undefined) return undefined;
  if (record.key !== subject || !Number.isFinite(toEpochMs(time))) return undefined;
  for (const name in h) if (!ENVELOPE_HEADERS.has(name) && (name.startsWith('ce_') || name.startsWith('CE_'))) return undefined; // extensions, dataschema
  let data: Record<string, unknown>;
  try {
    data = readMessage(new Reader(record.value, 0, record.value.length), info.fields);
  } catch (err) {
    if (err === MISS) return undefined;
    throw err;
  }
  if (data.dossierCode !== subject || !checked(data, info)) return undefined;
  return { specversion: '1.0', id, source, type, time, subject, data } as unknown as DossierEvent;
}

