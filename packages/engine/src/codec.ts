/**
 * Minimal binary writer/reader for snapshots and partials: unsigned/zig-zag varints (LEB128, as protobuf),
 * float64 little-endian, UTF-8 strings, raw typed-array blocks. Pure: no Buffer, no I/O.
 */
import { EngineDecodeError } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned varint for 0 ≤ v < 2^53. */
  uvar(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Zig-zag signed varint for |v| < 2^52. */
  svar(v: number): void {
    this.uvar(v < 0 ? -2 * v - 1 : 2 * v);
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  str(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; encode after a 5-byte gap, then close the gap.
    this.ensure(8 + s.length * 3);
    const start = this.pos;
    const { written } = encoder.encodeInto(s, this.buf.subarray(start + 5));
    const lenBytes = written < 0x80 ? 1 : written < 0x4000 ? 2 : written < 0x200000 ? 3 : 4;
    this.buf.copyWithin(start + lenBytes, start + 5, start + 5 + written);
    this.uvar(written);
    this.pos = start + lenBytes + written;
  }

  /** A length-prefixed copy of a typed array's bytes (little-endian platform order, as all Node targets). */
  block(a: ArrayBufferView): void {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    this.uvar(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  bytes(b: Uint8Array): void {
    this.uvar(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  private readonly view: DataView;
  pos = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new EngineDecodeError(`truncated input at byte ${this.pos}`);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  uvar(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      this.need(1);
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
    throw new EngineDecodeError(`varint too long at byte ${this.pos}`);
  }

  svar(): number {
    const z = this.uvar();
    return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.uvar();
    this.need(n);
    try {
      return decoder.decode(this.buf.subarray(this.pos, (this.pos += n)));
    } catch (err) {
      throw new EngineDecodeError(`invalid UTF-8 string at byte ${this.pos - n}`, err);
    }
  }

  /** Reads a block written by ByteWriter.block into a fresh, aligned buffer. */
  blockBytes(): Uint8Array {
    const n = this.uvar();
    this.need(n);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  bytes(): Uint8Array {
    return this.blockBytes();
  }
}
