import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import './client.js';
import { fastGroupMessagesPerPartition, groupMessagesInstalled } from './group-messages.js';

const require = createRequire(import.meta.url);
const PATH = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');

/** kafkajs's own function, loaded around the cache entry that holds ours. */
function kafkajsGroup(): typeof fastGroupMessagesPerPartition {
  const ours = require.cache[PATH];
  delete require.cache[PATH];
  try {
    return require(PATH) as typeof fastGroupMessagesPerPartition;
  } finally {
    require.cache[PATH] = ours;
  }
}

test('kafkajs, loaded through client.ts, groups messages with the fast function', () => {
  assert.equal(groupMessagesInstalled, true);
  assert.equal(require(PATH), fastGroupMessagesPerPartition);
  const sendMessages = require.resolve('kafkajs/src/producer/sendMessages.js');
  assert.ok(require.cache[sendMessages] !== undefined, 'kafkajs loaded its producer after the fast function was in place');
  assert.notEqual(kafkajsGroup(), fastGroupMessagesPerPartition);
});

test('groups exactly as kafkajs does: same partitions, same order, partitioner called alike', () => {
  const original = kafkajsGroup();
  fc.assert(
    fc.property(fc.nat(12), fc.array(fc.nat(1000), { maxLength: 300 }), (partitions, keys) => {
      const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i }));
      const messages = keys.map((key, i) => ({ key: String(key), i }));
      const calls: unknown[][] = [[], []];
      const run = (group: typeof original, log: unknown[]) =>
        group({
          topic: 't',
          partitionMetadata,
          messages,
          partitioner: ({ topic, partitionMetadata: meta, message }) => {
            log.push([topic, meta, message]);
            return Number(message.key) % meta.length;
          },
        });
      const fast = run(fastGroupMessagesPerPartition, calls[0]!);
      const slow = run(original, calls[1]!);
      assert.deepStrictEqual(fast, slow);
      assert.deepStrictEqual(Object.keys(fast), Object.keys(slow));
      assert.deepStrictEqual(calls[0], calls[1]);
    }),
    { numRuns: 500 },
  );
});
