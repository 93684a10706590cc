import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { murmur2, partitionForKey } from './murmur2.js';

const require = createRequire(import.meta.url);
// kafkajs's Java-compatible murmur2, the partitioner the Kafka adapter's producer would otherwise use.
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

test('murmur2 matches the values Java Kafka computes', () => {
  // Expected values from org.apache.kafka.common.utils.UtilsTest#testMurmur2 (Kafka 4.0).
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, expected] of cases) assert.equal(murmur2(Buffer.from(key)), expected, key);
});

test('murmur2 agrees with kafkajs on random keys of every length', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (key) => {
      const bytes = Buffer.from(key, 'utf8');
      assert.equal(murmur2(bytes), kafkajsMurmur2(bytes));
    }),
    { numRuns: 2000 },
  );
});

test('partitionForKey (ASCII keys hashed from the string) equals murmur2 of the UTF-8 bytes', () => {
  const key = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }));
  fc.assert(
    fc.property(key, fc.integer({ min: 1, max: 64 }), (k, count) => {
      assert.equal(partitionForKey(k, count), (kafkajsMurmur2(Buffer.from(k, 'utf8')) & 0x7fffffff) % count);
    }),
    { numRuns: 5000 },
  );
  assert.equal(partitionForKey('a-little-bit-longer-string', 0x7fffffff), -1486304829 & 0x7fffffff);
});

test('partitionForKey is stable, in range, and rejects a bad count', () => {
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (key, count) => {
      const p = partitionForKey(key, count);
      assert.ok(p >= 0 && p < count);
      assert.equal(partitionForKey(key, count), p);
    }),
  );
  assert.throws(() => partitionForKey('k', 0), RangeError);
});
