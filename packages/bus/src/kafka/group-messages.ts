/**
 * A drop-in for kafkajs 2.2.4's producer/groupMessagesPerPartition.js, returning exactly what it returns.
 * kafkajs builds each partition's list with `[...current, message]` per message: quadratic in the
 * messages per partition, ~2 µs of CPU and ~1 KB of garbage per record at the gateway's batch sizes
 * (thousands of records over a dozen partitions), and it grows with the batch.
 *
 * kafkajs's sendMessages.js takes it with `require` while kafkajs itself loads, so the fast one has to
 * be in the module cache first: this module puts it there when it is evaluated, and client.ts, the only
 * module that loads kafkajs, imports it before kafkajs. If kafkajs was loaded earlier by someone else,
 * nothing is changed and `groupMessagesInstalled` says so.
 */
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

const FAST = Symbol.for('iocbus.bus.fastGroupMessagesPerPartition');
const GROUP_MESSAGES = 'kafkajs/src/producer/groupMessagesPerPartition.js';

export function fastGroupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<M>): Record<number, M[]> {
  if (partitionMetadata.length === 0) return {};
  const result: Record<number, M[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ||= []).push(message);
  }
  return result;
}
(fastGroupMessagesPerPartition as unknown as Record<symbol, boolean>)[FAST] = true;

function preinstall(): boolean {
  const path = require.resolve(GROUP_MESSAGES);
  const cached = require.cache[path];
  if (cached !== undefined) return (cached.exports as Record<symbol, unknown>)[FAST] === true;
  // A loaded module whose exports are ours: require() returns cached exports without reading the file.
  const module = new Module(path);
  module.filename = path;
  module.exports = fastGroupMessagesPerPartition;
  module.loaded = true;
  require.cache[path] = module;
  return true;
}

/** Whether kafkajs groups messages with the function above (false: kafkajs was loaded before this module). */
export const groupMessagesInstalled = preinstall();
