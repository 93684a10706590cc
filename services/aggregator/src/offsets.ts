import { IocError } from '@iocbus/errors';

/**
 * A Kafka offset (decimal string) as a number. Offsets stay far below 2^53 in practice (a partition would need
 * 9·10^15 records); past it the arithmetic would be inexact, so refuse rather than guess.
 */
export function toOffset(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new IocError('IOC_AGGREGATOR_STATE', `offset ${text} is not a non-negative integer below 2^53`);
  return n;
}
