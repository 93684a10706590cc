/**
 * The versioned binary form of a partition's whole state, for checkpoints. Layout (all varints LEB128):
 *   "IOCS" u8 version | clock | counters | scope table | combo table | dossier store (codes, the dossier
 *   rows up to the high-water slot as one block, fingerprint pool, side map) | windows and their cells.
 * Timers are not stored: they follow from the dossier state and are rebuilt on restore.
 *
 * Version 2 (2026-11-27) stores the dossier rows (store.ts: ROW Uint32 fields per slot) as one block.
 * Version 1 stored one block per field, in D_* order, with these element types; it is still read, and
 * its blocks are interleaved into rows (snapshot.test.ts restores a version-1 fixture).
 */
import { ByteReader, ByteWriter } from './codec.js';
import { EngineDecodeError } from './errors.js';
import { MEASURE_COUNT } from './measures.js';
import { readMeasures, readSketch, writeMeasures, writeSketch } from './partials.js';
import { ComboTable, SCOPES_PER_COMBO, ScopeTable } from './scopes.js';
import { D_COMBO, DossierStore, NO_COMBO, ROW, type Rare } from './store.js';
import { WK } from './time.js';
import { Accumulator, type WindowInst, type WindowTiming } from './windows.js';

export const SNAPSHOT_FORMAT_VERSION = 2;
/** Element types of version 1's per-field blocks (in D_* order: the four narrow ones are the last). */
const V1_FIELD_CTORS = [
  ...Array.from({ length: 9 }, () => Uint32Array),
  Int32Array,
  Uint32Array,
  Uint32Array,
  Uint16Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
] as const;
const MAGIC = [0x49, 0x4f, 0x43, 0x53]; // IOCS

export interface SnapshotParts {
  nowSec: number;
  lastSweepSec: number;
  counters: number[];
  scopes: ScopeTable;
  combos: ComboTable;
  store: DossierStore;
  acc: Accumulator;
}

function writeList(w: ByteWriter, list: number[] | undefined): void {
  if (list === undefined) {
    w.uvar(0);
    return;
  }
  w.uvar(list.length + 1);
  for (const v of list) w.uvar(v);
}

function readList(r: ByteReader): number[] | undefined {
  const n = r.uvar();
  if (n === 0) return undefined;
  const out: number[] = new Array<number>(n - 1);
  for (let i = 0; i < n - 1; i++) out[i] = r.uvar();
  return out;
}

function writeWindow(w: ByteWriter, acc: Accumulator, win: WindowInst): void {
  w.svar(win.index);
  w.u8(win.closed ? 1 : 0);
  const cells = win.cells();
  const measures = new Float64Array(MEASURE_COUNT);
  w.uvar(cells.length);
  for (const c of cells) {
    w.uvar(acc.scopeIdOf(c));
    w.u8(acc.revised(c) ? 1 : 0);
    acc.copyMeasures(c, measures, 0);
    writeMeasures(w, measures);
    writeSketch(w, acc.sketchOf(c));
  }
}

export function encodeSnapshot(p: SnapshotParts): Uint8Array {
  const s = p.store;
  const w = new ByteWriter(64 + s.highWater * 80);
  for (const b of MAGIC) w.u8(b);
  w.u8(SNAPSHOT_FORMAT_VERSION);
  w.uvar(p.nowSec);
  w.uvar(p.lastSweepSec);
  w.uvar(p.counters.length);
  for (const c of p.counters) w.uvar(c);

  w.uvar(p.scopes.size);
  for (let i = 0; i < p.scopes.size; i++) {
    w.u8(p.scopes.kinds[i] as number);
    w.str(p.scopes.codes[i] as string);
    const g = p.scopes.groups[i];
    w.u8(g === undefined ? 0 : 1);
    if (g !== undefined) w.str(g);
  }
  w.uvar(p.combos.size);
  for (let c = 0; c < p.combos.size; c++) {
    for (let k = 1; k < SCOPES_PER_COMBO; k++) w.svar(p.combos.scopes[c * SCOPES_PER_COMBO + k] as number);
  }

  w.uvar(s.highWater);
  for (let i = 0; i < s.highWater; i++) {
    const code = s.codes[i];
    if (code === undefined) w.u8(0);
    else {
      w.u8(1);
      w.str(code);
    }
  }
  w.block(s.d.subarray(0, s.highWater * ROW));
  w.uvar(s.fps.size);
  w.uvar(s.fps.freeHead);
  w.block(s.fps.data.subarray(0, s.fps.size * 5));
  w.uvar(s.rare.size);
  for (const [idx, r] of s.rare) {
    w.uvar(idx);
    writeList(w, r.reqs);
    writeList(w, r.sups);
    writeList(w, r.undigit);
    writeList(w, r.digit);
    writeList(w, r.exts);
    w.uvar(r.withdrawnAt === undefined ? 0 : r.withdrawnAt + 1);
    w.uvar(r.stoppedAt === undefined ? 0 : r.stoppedAt + 1);
  }

  for (let kind = 0; kind < 5; kind++) {
    const map = p.acc.byKind[kind] as Map<number, WindowInst>;
    w.uvar(map.size);
    for (const win of map.values()) writeWindow(w, p.acc, win);
  }
  writeWindow(w, p.acc, p.acc.now);
  return w.finish();
}

export interface DecodedSnapshot extends SnapshotParts {}

function typed<T extends Uint32Array | Int32Array | Uint16Array | Uint8Array>(
  Ctor: new (n: number) => T,
  bytes: Uint8Array,
  capacity: number,
  fill?: number,
): T {
  const out = new Ctor(capacity);
  if (fill !== undefined) (out as Int32Array).fill(fill);
  const per = (out as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (bytes.length % per !== 0) throw new EngineDecodeError('snapshot array block has a partial element');
  const src = new (Ctor as unknown as new (b: ArrayBuffer, o: number, n: number) => T)(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length / per);
  if (src.length > capacity) throw new EngineDecodeError('snapshot array block larger than its slot count');
  out.set(src);
  return out;
}

export function decodeSnapshot(bytes: Uint8Array, provinceCode: string, timing: WindowTiming): DecodedSnapshot {
  const r = new ByteReader(bytes);
  for (const b of MAGIC) if (r.u8() !== b) throw new EngineDecodeError('not an iocbus engine snapshot (bad magic)');
  const version = r.u8();
  if (version !== SNAPSHOT_FORMAT_VERSION && version !== 1) {
    throw new EngineDecodeError(`snapshot format version ${version} is not supported (this build reads ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const nowSec = r.uvar();
  const lastSweepSec = r.uvar();
  const nc = r.uvar();
  const counters: number[] = [];
  for (let i = 0; i < nc; i++) counters.push(r.uvar());

  const nScopes = r.uvar();
  const scopes = new ScopeTable(provinceCode);
  for (let i = 0; i < nScopes; i++) {
    const kind = r.u8();
    const code = r.str();
    const group = r.u8() === 1 ? r.str() : undefined;
    if (i === 0) {
      // The province scope is always id 0; keep the snapshot's code so keys stay stable.
      scopes.codes[0] = code;
      continue;
    }
    if (scopes.intern(kind, code, group) !== i) throw new EngineDecodeError('snapshot scope table has duplicates');
  }
  const nCombos = r.uvar();
  const combos = new ComboTable();
  for (let c = 0; c < nCombos; c++) {
    const u = r.svar();
    const p = r.svar();
    const sec = r.svar();
    const ch = r.svar();
    if (combos.intern(u, p, sec, ch) !== c) throw new EngineDecodeError('snapshot combo table has duplicates');
  }

  const highWater = r.uvar();
  const capacity = Math.max(16, Math.ceil(highWater * 1.25));
  const store = new DossierStore(16);
  store.highWater = highWater;
  store.codes = new Array<string | undefined>(highWater);
  for (let i = 0; i < highWater; i++) store.codes[i] = r.u8() === 1 ? r.str() : undefined;
  const rows = new Uint32Array(capacity * ROW);
  if (version === 1) {
    V1_FIELD_CTORS.forEach((Ctor, f) => {
      const a = typed(Ctor as new (n: number) => Uint32Array, r.blockBytes(), highWater);
      for (let i = 0; i < highWater; i++) rows[i * ROW + f] = a[i] as number;
    });
  } else {
    const bytes = r.blockBytes();
    if (bytes.length !== highWater * ROW * 4) throw new EngineDecodeError('snapshot dossier rows do not match the slot count');
    rows.set(new Uint32Array(bytes.buffer, bytes.byteOffset, highWater * ROW));
  }
  for (let i = highWater; i < capacity; i++) rows[i * ROW + D_COMBO] = NO_COMBO;
  store.setRows(rows, capacity);
  store.fps.size = r.uvar();
  store.fps.freeHead = r.uvar();
  const fpBytes = r.blockBytes();
  store.fps.data = typed(Uint32Array, fpBytes, Math.max(5 * 1024, Math.ceil((fpBytes.length / 4) * 1.25 / 5) * 5));
  const nRare = r.uvar();
  for (let i = 0; i < nRare; i++) {
    const idx = r.uvar();
    const rare: Rare = {};
    const reqs = readList(r);
    const sups = readList(r);
    const undigit = readList(r);
    const digit = readList(r);
    const exts = readList(r);
    const wd = r.uvar();
    const st = r.uvar();
    if (reqs !== undefined) rare.reqs = reqs;
    if (sups !== undefined) rare.sups = sups;
    if (undigit !== undefined) rare.undigit = undigit;
    if (digit !== undefined) rare.digit = digit;
    if (exts !== undefined) rare.exts = exts;
    if (wd !== 0) rare.withdrawnAt = wd - 1;
    if (st !== 0) rare.stoppedAt = st - 1;
    store.rare.set(idx, rare);
  }
  store.rebuildIndex();

  const acc = new Accumulator(timing, combos);
  acc.restoreClock(nowSec);
  const readWindow = (kind: WK): void => {
    const index = r.svar();
    const closed = r.u8() === 1;
    const win = acc.restoreWindow(kind, index, closed);
    const n = r.uvar();
    for (let i = 0; i < n; i++) {
      const scope = r.uvar();
      const revised = r.u8() === 1;
      acc.restoreCell(win, scope, readMeasures(r), revised, readSketch(r));
    }
  };
  for (let kind = 0; kind < 5; kind++) {
    const n = r.uvar();
    for (let i = 0; i < n; i++) readWindow(kind as WK);
  }
  readWindow(WK.Now);
  if (!r.done) throw new EngineDecodeError('trailing bytes after snapshot');
  return { nowSec, lastSweepSec, counters, scopes, combos, store, acc };
}
