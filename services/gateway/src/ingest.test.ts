import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCloudEvent, type DossierEvent } from '@iocbus/events';
import { createLogger, createRegistry } from '@iocbus/telemetry';
import type { Principal } from './api-keys.js';
import type { MicroBatcher } from './batcher.js';
import { Ingestor, type Candidate } from './ingest.js';
import { KafkaHealth } from './kafka-health.js';
import { createGatewayMetrics } from './metrics.js';
import { RecentlySeen } from './recently-seen.js';
import { ManualClock } from './test-clock.js';
import { sampleEvent } from './test-support.js';

const anyone: Principal = { keyId: 'k', rate: undefined, mayPublishSource: () => true, mayPublishUnit: () => true };

function candidate(event: DossierEvent): Candidate {
  return { ok: true, event };
}

function event(): DossierEvent {
  const parsed = parseCloudEvent(sampleEvent());
  assert.ok(parsed.ok);
  return parsed.event;
}

function ingestor(submit: MicroBatcher['submit']): Ingestor {
  const batcher = { submit } as unknown as MicroBatcher;
  const health = new KafkaHealth({
    probe: async () => undefined,
    intervalMs: 60_000,
    timeoutMs: 1000,
    logger: createLogger({ service: 'gateway-test', level: 'silent' }),
  });
  return new Ingestor({
    batcher,
    seen: new RecentlySeen(new ManualClock(), { windowMs: 60_000, maxEntries: 1000 }),
    health,
    metrics: createGatewayMetrics(createRegistry(), () => 0),
    produceTimeoutMs: 200,
  });
}

test('copies in one request share the first one’s write and its outcome', async () => {
  const e = event();
  const written: number[] = [];
  const ok = ingestor(async (records) => void written.push(records.length));
  const outcome = await ok.ingest(anyone, [candidate(e), candidate(event()), candidate(e)], 'http');
  assert.deepEqual(outcome.results.map((r) => r.status), ['accepted', 'accepted', 'duplicate']);
  assert.deepEqual(written, [2], 'one submission of the two distinct events');

  const failing = ingestor(async () => Promise.reject(new Error('kafka down')));
  const failed = await failing.ingest(anyone, [candidate(e), candidate(e)], 'http');
  assert.deepEqual(failed.results.map((r) => r.status), ['failed', 'failed'], 'the copy fails with the original');
});

test('a submission that throws leaves nothing in flight: the retry is written, not left waiting', async () => {
  const e = event();
  let calls = 0;
  const flaky = ingestor((records) => {
    calls++;
    if (calls === 1) throw new Error('batcher broke');
    return Promise.resolve(void records);
  });
  const first = await flaky.ingest(anyone, [candidate(e)], 'http');
  assert.equal(first.results[0]?.status, 'failed');
  const started = performance.now();
  const retry = await flaky.ingest(anyone, [candidate(e)], 'http');
  assert.equal(retry.results[0]?.status, 'accepted');
  assert.ok(performance.now() - started < 150, 'answered without waiting for the produce timeout');
  assert.equal(calls, 2);
});
