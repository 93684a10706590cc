import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineDecodeError } from './errors.js';
import {
  boundSources,
  decodePartialRecord,
  decodeProgress,
  encodePartialRecordValue,
  encodeProgress,
  parsePartialRecordKey,
  partialRecordKey,
  progressRecordKey,
  type PartitionProgress,
} from './partial-record.js';
import { mergePartials, partialKey } from './partials.js';
import { canonical, engineAt, ev } from './testkit.js';

const progress: PartitionProgress = {
  inputPartition: 3,
  inputPartitions: 6,
  offset: '9007199254740993', // above 2^53: offsets stay exact decimal strings
  watermarkMs: Date.parse('2025-03-10T08:00:00+07:00'),
  clockMs: Date.parse('2025-03-10T09:00:00+07:00'),
  updatedAtMs: 1_741_572_000_123,
  sources: [
    { source: '/agencies/H21.17/igate', lastEventMs: 1_741_570_000_000, lastSeenMs: 1_741_572_000_000 },
    { source: '/agencies/H21.227/một-cửa', lastEventMs: -5, lastSeenMs: 1_741_571_000_000 },
  ],
  sourcesOmitted: 2,
};

test('keys: input partition first, progress key apart from every partial key', () => {
  assert.equal(partialRecordKey(4, 'day:2025-03-14|unit:H21.17'), '4/day:2025-03-14|unit:H21.17');
  assert.equal(progressRecordKey(4), '4/~progress');
  assert.deepEqual(parsePartialRecordKey('4/day:2025-03-14|unit:H21.17'), { inputPartition: 4, kind: 'partial', partialKey: 'day:2025-03-14|unit:H21.17' });
  assert.deepEqual(parsePartialRecordKey('12/~progress'), { inputPartition: 12, kind: 'progress' });
  for (const bad of ['', 'day:2025|province:H21', '/x', '01/x', '-1/x', 'a/x', '3/', '3/~other']) {
    assert.throws(() => parsePartialRecordKey(bad), EngineDecodeError, bad);
  }
});

test('partial records round-trip the engine partial; an empty value means removed', () => {
  const engine = engineAt('2025-03-10 12:00');
  engine.apply(ev.received('D1', '2025-03-10 08:00', { due: '2025-03-12 17:00', channel: 'online' }));
  engine.apply(ev.resolved('D1', '2025-03-10 10:00'));
  const partials = engine.partials();
  assert.ok(partials.length > 0);
  const decoded = partials.map((p) => {
    const r = decodePartialRecord(partialRecordKey(2, partialKey(p)), encodePartialRecordValue(p));
    assert.equal(r.kind, 'partial');
    assert.equal(r.inputPartition, 2);
    if (r.kind !== 'partial') throw new Error('unreachable');
    assert.equal(r.partialKey, partialKey(p));
    return r.partial;
  });
  assert.deepEqual(canonical(decoded), canonical(partials));
  assert.deepEqual(decodePartialRecord('2/day:2025-03-10|province:H21', new Uint8Array(0)), {
    kind: 'removed',
    inputPartition: 2,
    partialKey: 'day:2025-03-10|province:H21',
  });
});

test('records of two input partitions for one key merge in the view into the sum of both', () => {
  const a = engineAt('2025-03-10 12:00');
  const b = engineAt('2025-03-10 12:00');
  a.apply(ev.received('D1', '2025-03-10 08:00', { due: '2025-03-12 17:00' }));
  b.apply(ev.received('D2', '2025-03-10 09:00', { due: '2025-03-12 17:00' }));
  b.apply(ev.received('D3', '2025-03-10 09:30', { due: '2025-03-12 17:00' }));
  const latest = new Map<string, ReturnType<typeof decodePartialRecord>>();
  for (const [p, engine] of [
    [0, a],
    [1, b],
  ] as const) {
    for (const partial of engine.partials()) {
      const key = partialRecordKey(p, partialKey(partial));
      latest.set(key, decodePartialRecord(key, encodePartialRecordValue(partial)));
    }
  }
  const perPartition = [...latest.values()].flatMap((r) => (r.kind === 'partial' ? [r.partial] : []));
  assert.deepEqual(canonical(mergePartials(perPartition)), canonical(mergePartials(a.partials(), b.partials())));
});

test('progress round-trips exactly, including a null watermark and no sources', () => {
  assert.deepEqual(decodeProgress(encodeProgress(progress)), progress);
  const empty: PartitionProgress = { ...progress, offset: '0', watermarkMs: null, sources: [], sourcesOmitted: 0 };
  assert.deepEqual(decodeProgress(encodeProgress(empty)), empty);
  const r = decodePartialRecord(progressRecordKey(3), encodeProgress(progress));
  assert.deepEqual(r, { kind: 'progress', inputPartition: 3, progress });
});

test('progress refuses bad offsets, other versions, truncation, trailing bytes and a key of another partition', () => {
  assert.throws(() => encodeProgress({ ...progress, offset: '-1' }), RangeError);
  assert.throws(() => encodeProgress({ ...progress, offset: '1e3' }), RangeError);
  const bytes = encodeProgress(progress);
  const v2 = bytes.slice();
  v2[1] = 2;
  assert.throws(() => decodeProgress(v2), /version 2 is not supported/);
  assert.throws(() => decodeProgress(bytes.subarray(0, bytes.length - 3)), EngineDecodeError);
  assert.throws(() => decodeProgress(new Uint8Array([...bytes, 0])), /trailing/);
  assert.throws(() => decodeProgress(new Uint8Array([0x50, 1])), /magic/);
  assert.throws(() => decodePartialRecord(progressRecordKey(4), bytes), /input partition 3/);
  // A partial's bytes under a progress key (or the reverse) are refused, not misread.
  assert.throws(() => decodePartialRecord('3/day:2025-03-10|province:H21', bytes), EngineDecodeError);
});

test('boundSources keeps the most recently heard sources and counts the rest', () => {
  const many = Array.from({ length: 10 }, (_, i) => ({ source: `/s/${i}`, lastEventMs: i, lastSeenMs: 1000 + (i % 5) }));
  const { sources, omitted } = boundSources(many, 4);
  assert.equal(omitted, 6);
  assert.deepEqual(
    sources.map((s) => s.source),
    ['/s/9', '/s/4', '/s/8', '/s/3'],
  );
  assert.deepEqual(boundSources(many, 0), { sources: [], omitted: 10 });
  assert.equal(boundSources(many).omitted, 0);
});
