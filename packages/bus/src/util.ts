import type { TopicPartition } from './ports.js';

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export const keyOf = (tp: TopicPartition): string => tpKey(tp.topic, tp.partition);

export function parseOffset(offset: string): bigint {
  if (!/^\d+$/.test(offset)) throw new RangeError(`offset must be a non-negative decimal string, got "${offset}"`);
  return BigInt(offset);
}

/** A promise with its resolve function exposed, for one-shot signals. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Runs tasks one after another; a failed task does not block the ones queued after it. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }
}

export function byPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
}
