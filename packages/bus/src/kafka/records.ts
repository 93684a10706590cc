/**
 * kafkajs's consumed message → the bus's ConsumedRecord, as the bus mapped it while kafkajs decoded
 * fetches. The bus decodes record batches itself now (record-batches.ts); this stays as the reference
 * its tests hold that decoder to, byte for byte through kafkajs's own batch decoder.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { ConsumedRecord, Headers } from '../ports.js';

const EMPTY = Buffer.alloc(0);

function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

export function toHeaders(headers: IHeaders | undefined): Headers {
  const out: Headers = {};
  if (headers === undefined) return out;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined || value === null) continue;
    // A repeated header: the last value wins, as the port documents.
    const last = Array.isArray(value) ? value[value.length - 1] : (value as Buffer | string);
    if (last === undefined || last === null) continue;
    if (name === '__proto__') Object.defineProperty(out, name, { value: text(last), writable: true, enumerable: true, configurable: true });
    else out[name] = text(last);
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
