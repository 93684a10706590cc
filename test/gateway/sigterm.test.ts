/**
 * Graceful shutdown of the real gateway process: SIGTERM while HTTP batches and a gRPC stream are flowing.
 * The process stops taking work, answers what it took, flushes it to Kafka and exits 0; every event it
 * acknowledged (HTTP 202, stream ack) is on the topic afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kcatConsume, startKafka, uniqueName, waitFor, type KafkaBroker } from '@iocbus/testing';
import { testKeys } from '../../services/gateway/src/test-support.js';
import { startLoad, startStreamLoad } from './load.js';

const MAIN = fileURLToPath(new URL('../../services/gateway/src/main.ts', import.meta.url));
let broker: KafkaBroker;

before(async () => {
  broker = await startKafka();
  return async () => broker.stop();
});

test('SIGTERM under load: the gateway drains, exits 0, and loses no acknowledged event', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iocbus-gw-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const keys = await testKeys();
  const keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify({ keys: keys.entries }));
  const topic = uniqueName('gw-sigterm');

  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      KAFKA_BROKERS: broker.brokers.join(','),
      IOCBUS_GATEWAY__AUTH__KEYS_FILE: keysFile,
      IOCBUS_GATEWAY__KAFKA__TOPIC: topic,
      IOCBUS_GATEWAY__KAFKA__PARTITIONS: '3',
      IOCBUS_GATEWAY__KAFKA__PROBE_INTERVAL_MS: '200',
      IOCBUS_GATEWAY__HTTP__HOST: '127.0.0.1',
      IOCBUS_GATEWAY__HTTP__PORT: '0',
      IOCBUS_GATEWAY__GRPC__HOST: '127.0.0.1',
      IOCBUS_GATEWAY__GRPC__PORT: '0',
      IOCBUS_GATEWAY__GRPC__STREAM_MAX_IN_FLIGHT: '200',
      // A long linger keeps events queued in the batcher, so SIGTERM finds work to flush.
      IOCBUS_GATEWAY__BATCH__LINGER_MS: '20',
      IOCBUS_GATEWAY__LOG__LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => void child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      lines.push({ raw: line });
    }
  });
  const listening = await waitFor(() => lines.find((l) => l.msg === 'gateway listening'), {
    timeoutMs: 60_000,
    message: `the gateway to listen (stderr: ${stderr})`,
  });
  const url = `http://127.0.0.1:${listening.httpPort as number}`;
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 30_000, message: 'readiness' });

  const http = startLoad({ url, key: keys.admin, clients: 4, batch: 50, maxRequests: 100_000 });
  const stream = startStreamLoad({ port: listening.grpcPort as number, key: keys.admin, maxEvents: 1_000_000 });
  await waitFor(() => http.accepted >= 20 && stream.acked >= 500, { timeoutMs: 60_000, message: 'load to flow' });

  child.kill('SIGTERM');
  const code = await exited;
  const httpResult = await http.stop();
  const streamResult = await stream.stop();

  assert.equal(code, 0, `exit code ${code}; stderr: ${stderr}`);
  assert.ok(lines.some((l) => l.msg === 'shutdown complete'), 'shutdown completed without hitting its timeout');
  assert.equal(streamResult.status, 'UNAVAILABLE', 'the stream was ended with UNAVAILABLE so the client resends the rest');
  const statuses = Object.fromEntries(httpResult.statuses);
  t.diagnostic(`http ${JSON.stringify(statuses)}, stream sent ${streamResult.sent} acked ${streamResult.acknowledged.size}`);
  for (const s of httpResult.statuses.keys()) {
    assert.ok(['202', '503'].includes(s) || s.startsWith('error:'), `unexpected answer ${s}`);
  }

  const onTopic = new Set((await kcatConsume({ brokers: broker.brokers, topic })).map((r) => r.headers.ce_id?.toString()));
  const acknowledged = [...httpResult.acknowledged, ...streamResult.acknowledged];
  const missing = acknowledged.filter((id) => !onTopic.has(id));
  t.diagnostic(`acknowledged ${acknowledged.length}, on the topic ${onTopic.size}`);
  assert.ok(httpResult.acknowledged.size > 0 && streamResult.acknowledged.size > 0);
  assert.deepEqual(missing, [], `${missing.length} acknowledged events are missing`);
});
