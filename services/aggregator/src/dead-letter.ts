/**
 * A record the aggregator cannot use goes to the dead-letter topic as it was (key, value, headers), with the
 * reason in `iocbus-dlq-*` headers, so an operator can read why with kcat and re-publish it once fixed.
 * Written at least once: a crash between the dead letter and the checkpoint covering it writes it again.
 */
import type { BusRecord, ConsumedRecord } from '@iocbus/bus';
import { isIocError } from '@iocbus/errors';
import { EventDecodeError } from '@iocbus/events';

export const DLQ_HEADER = {
  errorCode: 'iocbus-dlq-error-code',
  errorMessage: 'iocbus-dlq-error-message',
  /** JSON array of { path, message } (EventDecodeError) or []. */
  problems: 'iocbus-dlq-problems',
  sourceTopic: 'iocbus-dlq-source-topic',
  sourcePartition: 'iocbus-dlq-source-partition',
  sourceOffset: 'iocbus-dlq-source-offset',
  sourceTimestamp: 'iocbus-dlq-source-timestamp',
  consumerGroup: 'iocbus-dlq-consumer-group',
  failedAt: 'iocbus-dlq-failed-at',
} as const;

/** Header values are strings on the bus; keep a pathological error from making the record too large. */
const MAX_HEADER_CHARS = 16_000;

function clip(s: string): string {
  return s.length <= MAX_HEADER_CHARS ? s : `${s.slice(0, MAX_HEADER_CHARS - 1)}…`;
}

export function deadLetterRecord(record: ConsumedRecord, error: unknown, groupId: string, nowMs: number): BusRecord {
  const code = isIocError(error) ? error.code : 'IOC_AGGREGATOR_APPLY_FAILED';
  const message = error instanceof Error ? error.message : String(error);
  const problems = error instanceof EventDecodeError ? error.problems : [];
  return {
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      [DLQ_HEADER.errorCode]: code,
      [DLQ_HEADER.errorMessage]: clip(message),
      [DLQ_HEADER.problems]: clip(JSON.stringify(problems)),
      [DLQ_HEADER.sourceTopic]: record.topic,
      [DLQ_HEADER.sourcePartition]: String(record.partition),
      [DLQ_HEADER.sourceOffset]: record.offset,
      [DLQ_HEADER.sourceTimestamp]: String(record.timestamp),
      [DLQ_HEADER.consumerGroup]: groupId,
      [DLQ_HEADER.failedAt]: new Date(nowMs).toISOString(),
    },
  };
}
