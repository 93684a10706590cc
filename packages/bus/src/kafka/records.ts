import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { ConsumedRecord, Headers } from '../ports.js';

const EMPTY = Buffer.alloc(0);

function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

export function toHeaders(headers: IHeaders | undefined): Headers {
  const out: Headers = {};
  if (headers === undefined) return out;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      // A repeated header: the last value wins, as the port documents.
      const last = value[value.length - 1];
      if (last !== undefined) out[name] = text(last);
    } else {
      out[name] = text(value as Buffer | string);
    }
  }
  return out;
}

export function toConsumed(message: KafkaMessage, topic: string, partition: number): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? '' : message.key.toString('utf8'),
    value: message.value ?? EMPTY,
    headers: toHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}
