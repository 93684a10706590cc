import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { TestingError } from './errors.js';

/**
 * kcat (librdkafka) is the independent client: reading what our code wrote with it proves the bytes on the
 * broker, not just that kafkajs agrees with itself; producing with it gives benchmarks a ceiling.
 */
export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Milliseconds since the epoch, as stored in the record. */
  timestamp: number;
  /** null for a record without key. */
  key: Buffer | null;
  /** null for a tombstone. */
  value: Buffer | null;
  /** Header values by key; the last one wins for a repeated key; a null header value reads as an empty Buffer. */
  headers: Record<string, Buffer>;
}

export interface KcatTopicOptions {
  brokers: string[];
  topic: string;
  /** Read only this partition; default all. */
  partition?: number;
  /** librdkafka properties passed as `-X key=value`. */
  properties?: Record<string, string>;
  /** Kill kcat and fail after this long; default 60 s. */
  timeoutMs?: number;
}

/** Reads `topic` from the beginning to its current end (`kcat -C -e -J`), every byte of keys, values and headers intact. */
export async function kcatConsume(options: KcatTopicOptions): Promise<KcatRecord[]> {
  const out = await runKcat([...consumeArgs(options), '-J'], options.timeoutMs);
  // kcat writes key/payload bytes into JSON strings without UTF-8 validation, escaping only control characters,
  // quotes and backslashes: decoding its output as latin1 maps every byte to one char, so latin1 back is exact.
  const records: KcatRecord[] = [];
  for (const line of out.toString('latin1').split('\n')) {
    if (line.trim() === '') continue;
    const raw = JSON.parse(line) as {
      topic: string;
      partition: number;
      offset: number;
      ts?: number;
      key: string | null;
      payload: string | null;
      headers?: Array<string | null>;
    };
    const headers: Record<string, Buffer> = {};
    const flat = raw.headers ?? [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      headers[Buffer.from(flat[i] ?? '', 'latin1').toString('utf8')] = Buffer.from(flat[i + 1] ?? '', 'latin1');
    }
    records.push({
      topic: Buffer.from(raw.topic, 'latin1').toString('utf8'),
      partition: raw.partition,
      offset: raw.offset,
      timestamp: raw.ts ?? -1,
      key: raw.key === null ? null : Buffer.from(raw.key, 'latin1'),
      value: raw.payload === null ? null : Buffer.from(raw.payload, 'latin1'),
      headers,
    });
  }
  return records;
}

/** How many records `topic` holds from the beginning to its current end, without materialising them. */
export async function kcatCount(options: KcatTopicOptions): Promise<number> {
  // One byte of output per record keeps counting a benchmark-sized topic cheap.
  return (await runKcat([...consumeArgs(options), '-f', '.'], options.timeoutMs)).length;
}

export interface KcatRecordsFileOptions {
  /** Between key and value; default tab. */
  keyDelimiter?: string;
  /** After each record; default newline. */
  messageDelimiter?: string;
}

/**
 * Writes records in the layout `kcatProduceFile` reads. Delimiters cannot be escaped in that layout,
 * so a key or value containing one is refused rather than silently split.
 */
export async function writeKcatRecordsFile(
  file: string,
  records: Iterable<{ key: string | Buffer; value: string | Buffer }>,
  options: KcatRecordsFileOptions = {},
): Promise<number> {
  const keyDelimiter = Buffer.from(options.keyDelimiter ?? '\t');
  const messageDelimiter = Buffer.from(options.messageDelimiter ?? '\n');
  const parts: Buffer[] = [];
  let count = 0;
  for (const record of records) {
    const key = Buffer.from(record.key);
    const value = Buffer.from(record.value);
    for (const [what, bytes] of [['key', key], ['value', value]] as const) {
      if (bytes.includes(keyDelimiter) || bytes.includes(messageDelimiter)) {
        throw new TestingError('IOC_TESTING_KCAT_DELIMITER', `record ${count}: ${what} contains a delimiter; choose other delimiters`);
      }
    }
    parts.push(key, keyDelimiter, value, messageDelimiter);
    count += 1;
  }
  await writeFile(file, Buffer.concat(parts));
  return count;
}

export interface KcatProduceFileOptions extends KcatRecordsFileOptions {
  brokers: string[];
  topic: string;
  /** File of `key<keyDelimiter>value<messageDelimiter>` records, e.g. from writeKcatRecordsFile. */
  file: string;
  /** Send every record to this partition; default: librdkafka's partitioner on the key. */
  partition?: number;
  /** librdkafka properties passed as `-X key=value`, e.g. `{ 'linger.ms': '5', 'compression.codec': 'lz4' }`. */
  properties?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Produces every record of `file` with `kcat -P -l`, keys split at `keyDelimiter`; resolves once all are
 * acknowledged. The topic must exist: librdkafka keeps waiting for an unknown one until `timeoutMs`.
 */
export async function kcatProduceFile(options: KcatProduceFileOptions): Promise<{ elapsedMs: number }> {
  // Not quiet: delivery errors on stderr are what a failure or timeout message needs.
  const args = [
    '-P',
    '-b',
    options.brokers.join(','),
    '-t',
    options.topic,
    '-K',
    options.keyDelimiter ?? '\t',
    '-D',
    options.messageDelimiter ?? '\n',
    ...(options.partition === undefined ? [] : ['-p', String(options.partition)]),
    ...propertyArgs(options.properties),
    '-l',
    options.file,
  ];
  const started = process.hrtime.bigint();
  await runKcat(args, options.timeoutMs);
  return { elapsedMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

function consumeArgs(options: KcatTopicOptions): string[] {
  return [
    '-C',
    '-e',
    '-q',
    '-o',
    'beginning',
    '-b',
    options.brokers.join(','),
    '-t',
    options.topic,
    ...(options.partition === undefined ? [] : ['-p', String(options.partition)]),
    ...propertyArgs(options.properties),
  ];
}

function propertyArgs(properties: Record<string, string> = {}): string[] {
  return Object.entries(properties).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
}

function runKcat(args: string[], timeoutMs = 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    let stderr = '';
    const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new TestingError('IOC_TESTING_KCAT_FAILED', `kcat ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr.trim()}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new TestingError(
          missing ? 'IOC_TESTING_KCAT_MISSING' : 'IOC_TESTING_KCAT_FAILED',
          missing ? 'kcat is not on PATH: run `bash scripts/setup-test-deps.sh` (installs Debian\'s kcat)' : `could not run kcat: ${error.message}`,
          { cause: error },
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(stdout));
      else reject(new TestingError('IOC_TESTING_KCAT_FAILED', `kcat ${args.join(' ')} exited with ${code ?? signal}:\n${stderr.trim()}`));
    });
  });
}
