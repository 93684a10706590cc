/**
 * Resume tokens. A token names the state a client holds, in terms every view instance shares: the
 * partials-topic offsets applied (per partials partition), the evaluation minute, the partials history
 * and the filter. Any instance that has applied at least those offsets can compute what changed since
 * (state.ts keeps the offset of the latest record per key, tombstones included), so a resume on another
 * instance continues without a gap. Nothing instance-local is in a token.
 *
 * Layout (then base64url): version u8 | history u32 | filter u32 | flags u8 | minute uvar | issued s uvar |
 * n uvar | n × offset uvar | fnv1a u32 over everything before. Not a secret: the checksum only catches
 * truncation and typos, so that garbage reads as "invalid" rather than as a wrong position.
 */
import { fnv1a } from './filter.js';

export const TOKEN_VERSION = 1;
const FLAG_INCOMPLETE = 1;

export interface TokenState {
  /** Next offset to apply, per partials-topic partition: every record below has been applied. */
  offsets: readonly number[];
  /** Evaluation minute (epoch minutes) of the values the client holds. */
  minute: number;
}

export interface ResumeToken extends TokenState {
  history: number;
  filter: number;
  /** Issued mid-snapshot: resuming it gives a Reset. */
  incomplete: boolean;
  issuedAtMs: number;
}

function pushUvar(out: number[], v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`token field ${v} is not a non-negative safe integer`);
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function pushU32(out: number[], v: number): void {
  out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

function checksum(bytes: ArrayLike<number>, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function encodeToken(t: ResumeToken): string {
  const out: number[] = [TOKEN_VERSION];
  pushU32(out, t.history);
  pushU32(out, t.filter);
  out.push(t.incomplete ? FLAG_INCOMPLETE : 0);
  pushUvar(out, t.minute);
  pushUvar(out, Math.floor(t.issuedAtMs / 1000));
  pushUvar(out, t.offsets.length);
  for (const o of t.offsets) pushUvar(out, o);
  pushU32(out, checksum(out, out.length));
  return Buffer.from(out).toString('base64url');
}

/** The token, or undefined when it cannot be read (wrong version, truncated, altered). */
export function decodeToken(text: string): ResumeToken | undefined {
  if (text.length === 0 || text.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const b = Buffer.from(text, 'base64url');
  if (b.length < 15 || b[0] !== TOKEN_VERSION) return undefined;
  if (checksum(b, b.length - 4) !== b.readUInt32BE(b.length - 4)) return undefined;
  let i = 1;
  const u32 = (): number => {
    const v = b.readUInt32BE(i);
    i += 4;
    return v;
  };
  const uvar = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (i >= b.length - 4) throw new RangeError('truncated');
      const byte = b[i++] as number;
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError('varint too long');
    }
  };
  try {
    const history = u32();
    const filter = u32();
    const flags = b[i++] as number;
    const minute = uvar();
    const issuedAtMs = uvar() * 1000;
    const n = uvar();
    if (n > 10_000) return undefined;
    const offsets: number[] = [];
    for (let k = 0; k < n; k++) offsets.push(uvar());
    if (i !== b.length - 4) return undefined;
    return { history, filter, incomplete: (flags & FLAG_INCOMPLETE) !== 0, minute, issuedAtMs, offsets };
  } catch {
    return undefined;
  }
}

/** Identifies a partials history: the configured history id, the topic and its partition count. */
export function historyHash(historyId: string, topic: string, partitions: number): number {
  return fnv1a(`${historyId}\u001f${topic}\u001f${partitions}`);
}
