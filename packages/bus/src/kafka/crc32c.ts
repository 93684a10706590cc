/**
 * CRC-32C (Castagnoli), the checksum of a Kafka record batch: every batch the bus consumes is checked
 * and every batch it produces is stamped with it. Computed eight bytes at a time ("slicing-by-8",
 * Kounavis & Berry, Intel 2005) by a small WebAssembly function written out below, and in JavaScript
 * for short inputs and wherever WebAssembly is missing. The WebAssembly loop reads its input as two
 * 32-bit words per step and its tables without bounds checks: ~0.56 ns per byte, copying the input
 * into its memory included, against ~0.85-1.05 for the same loop in JavaScript (CPU, alternated), which
 * was ~5 % of the aggregator's catch-up CPU (issue #5). Both equal kafkajs's crc32C (property tests).
 */
const POLYNOMIAL = 0x82f63b78; // CRC-32C, reflected

/** TABLE[k * 256 + n]: the CRC of byte n followed by k zero bytes. */
const TABLE = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
  TABLE[n] = c;
}
for (let k = 1; k < 8; k++) {
  for (let n = 0; n < 256; n++) {
    const prev = TABLE[(k - 1) * 256 + n] as number;
    TABLE[k * 256 + n] = (prev >>> 8) ^ (TABLE[prev & 0xff] as number);
  }
}

/** The CRC-32C of `bytes` in JavaScript, as an unsigned 32-bit number. */
export function crc32cJs(bytes: Uint8Array): number {
  const t = TABLE;
  let crc = -1;
  let i = 0;
  const end8 = bytes.length - (bytes.length % 8);
  while (i < end8) {
    const lo = crc ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    const hi = (bytes[i + 4] as number) | ((bytes[i + 5] as number) << 8) | ((bytes[i + 6] as number) << 16) | ((bytes[i + 7] as number) << 24);
    crc =
      (t[1792 + (lo & 0xff)] as number) ^
      (t[1536 + ((lo >>> 8) & 0xff)] as number) ^
      (t[1280 + ((lo >>> 16) & 0xff)] as number) ^
      (t[1024 + (lo >>> 24)] as number) ^
      (t[768 + (hi & 0xff)] as number) ^
      (t[512 + ((hi >>> 8) & 0xff)] as number) ^
      (t[256 + ((hi >>> 16) & 0xff)] as number) ^
      (t[hi >>> 24] as number);
    i += 8;
  }
  while (i < bytes.length) crc = (t[(crc ^ (bytes[i++] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

// ---- the WebAssembly version ---------------------------------------------------------------------------
//
// Memory: the eight tables at 0 (table k at k * 1024, as TABLE above), the input copied to DATA onwards.
// crc(p, end, crc) -> crc: the same two loops as crc32cJs over memory[p, end), without the pre- and
// post-inversion (done in JavaScript). Opcodes: https://webassembly.github.io/spec/core/binary/instructions.html

const DATA = 8 * 1024;
const PAGE = 65_536;

const I32 = 0x7f;
const op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  get: 0x20,
  set: 0x21,
  load: 0x28,
  load8u: 0x2d,
  const: 0x41,
  geU: 0x4f,
  add: 0x6a,
  sub: 0x6b,
  and: 0x71,
  xor: 0x73,
  shl: 0x74,
  shrU: 0x76,
} as const;
const EMPTY_BLOCK = 0x40;
// Params p, end, crc; locals lo, hi, end8.
const [P, END, CRC, LO, HI, END8] = [0, 1, 2, 3, 4, 5];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const i32 = (n: number): number[] => [op.const, ...sleb(n)];
/** i32.load of a word at the address on the stack plus `offset`; `align` is log2 of the alignment hint. */
const load = (offset: number, align = 2): number[] => [op.load, align, ...uleb(offset)];
/** The table-k entry for byte `shift` of the word in `local`: TABLE[k * 256 + ((local >>> shift) & 0xff)]. */
function entry(local: number, shift: number, k: number): number[] {
  const index =
    shift === 0
      ? [op.get, local, ...i32(0xff), op.and, ...i32(2), op.shl]
      : shift === 24
        ? [op.get, local, ...i32(24), op.shrU, ...i32(2), op.shl]
        : [op.get, local, ...i32(shift - 2), op.shrU, ...i32(0x3fc), op.and];
  return [...index, ...load(k * 1024)];
}

const body = [
  // end8 = p + ((end - p) & ~7)
  op.get, END, op.get, P, op.sub, ...i32(-8), op.and, op.get, P, op.add, op.set, END8,
  op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK,
  op.get, P, op.get, END8, op.geU, op.brIf, 1,
  // lo = crc ^ word(p); hi = word(p + 4) (unaligned: alignment hint 1 byte)
  op.get, CRC, op.get, P, ...load(0, 0), op.xor, op.set, LO,
  op.get, P, ...load(4, 0), op.set, HI,
  ...entry(LO, 0, 7), ...entry(LO, 8, 6), op.xor, ...entry(LO, 16, 5), op.xor, ...entry(LO, 24, 4), op.xor,
  ...entry(HI, 0, 3), op.xor, ...entry(HI, 8, 2), op.xor, ...entry(HI, 16, 1), op.xor, ...entry(HI, 24, 0), op.xor,
  op.set, CRC,
  op.get, P, ...i32(8), op.add, op.set, P,
  op.br, 0, op.end, op.end,
  // The last 0-7 bytes: crc = TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8)
  op.block, EMPTY_BLOCK, op.loop, EMPTY_BLOCK,
  op.get, P, op.get, END, op.geU, op.brIf, 1,
  op.get, CRC, op.get, P, op.load8u, 0, 0, op.xor, ...i32(0xff), op.and, ...i32(2), op.shl, ...load(0),
  op.get, CRC, ...i32(8), op.shrU, op.xor, op.set, CRC,
  op.get, P, ...i32(1), op.add, op.set, P,
  op.br, 0, op.end, op.end,
  op.get, CRC,
  op.end,
];

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
const code = [1, 3, I32, ...body]; // one local declaration: three i32
const MODULE = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
  ...section(1, [1, 0x60, 3, I32, I32, I32, 1, I32]), // type 0: (i32, i32, i32) -> i32
  ...section(3, [1, 0]), // function 0 has type 0
  ...section(5, [1, 0x00, 1]), // one memory, at least one page
  ...section(7, [2, ...name('memory'), 0x02, 0, ...name('crc'), 0x00, 0]),
  ...section(10, [1, ...uleb(code.length), ...code]),
]);

/** The part of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

interface Wasm {
  memory: WasmMemory;
  crc: (p: number, end: number, crc: number) => number;
  bytes: Uint8Array;
}

function instantiate(): Wasm | undefined {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return undefined;
  try {
    const { exports } = new api.Instance(new api.Module(MODULE));
    const memory = exports.memory as WasmMemory;
    new Int32Array(memory.buffer, 0, TABLE.length).set(TABLE); // little-endian, as WebAssembly reads it
    return { memory, crc: exports.crc as Wasm['crc'], bytes: new Uint8Array(memory.buffer) };
  } catch {
    return undefined;
  }
}

const wasm = instantiate();
/** Below this many bytes the copy and the call cost more than the JavaScript loop saves. */
const WASM_MIN = 256;
/** Inputs are copied into WebAssembly memory this much at a time, so it stays small (checkpoints run to megabytes). */
const WASM_CHUNK = 256 * 1024;

/** The CRC-32C of `bytes`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  const n = bytes.length;
  if (wasm === undefined || n < WASM_MIN) return crc32cJs(bytes);
  if (DATA + Math.min(n, WASM_CHUNK) > wasm.bytes.length) {
    wasm.memory.grow(Math.ceil((DATA + Math.min(n, WASM_CHUNK) - wasm.bytes.length) / PAGE));
    wasm.bytes = new Uint8Array(wasm.memory.buffer);
  }
  let crc = -1;
  for (let at = 0; at < n; at += WASM_CHUNK) {
    const piece = n - at <= WASM_CHUNK ? (at === 0 ? bytes : bytes.subarray(at)) : bytes.subarray(at, at + WASM_CHUNK);
    wasm.bytes.set(piece, DATA);
    crc = wasm.crc(DATA, DATA + piece.length, crc);
  }
  return (crc ^ -1) >>> 0;
}
