import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';

/**
 * One metadata round-trip against `brokers`: the broker accepts connections, the KRaft controller has
 * elected itself and the broker has registered (metadata lists it). Throws on any failure.
 */
export async function askMetadata(brokers: string[]): Promise<void> {
  const kafka = new Kafka({
    clientId: 'iocbus-testing-readiness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('metadata lists no broker yet');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Polls metadata until it answers, `abort` resolves (the broker died), or `timeoutMs` passes. */
export async function waitForMetadata(
  brokers: string[],
  timeoutMs: number,
  abort: Promise<string>,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const deadline = Date.now() + timeoutMs;
  let aborted: string | undefined;
  void abort.then((reason) => {
    aborted = reason;
  });
  let lastError = 'no attempt';
  while (Date.now() < deadline) {
    if (aborted !== undefined) return { ok: false, reason: aborted };
    try {
      await askMetadata(brokers);
      return { ok: true };
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (aborted !== undefined) return { ok: false, reason: aborted };
    await delay(200);
  }
  return { ok: false, reason: `no metadata answer within ${timeoutMs} ms (last error: ${lastError})` };
}
