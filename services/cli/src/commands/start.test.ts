/**
 * `npm start` as a new user runs it: the root package.json's start script in a child process. It must
 * say plainly that the embedded mode keeps nothing, print the wall screen's URL, and serve live simulated
 * indicators within 30 seconds; SIGINT stops it cleanly. The same command over Kafka (KAFKA_BROKERS set)
 * runs the same services through the broker.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { freePort } from '../test-support.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

async function startScript(): Promise<string> {
  const pkg = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start;
}

interface Started {
  url: string;
  output: () => string;
  stop(): Promise<number | null>;
  startedAt: number;
}

async function runStart(t: TestContext, env: NodeJS.ProcessEnv): Promise<Started> {
  const script = await startScript();
  const startedAt = Date.now();
  // exec: the signal reaches node itself, as it does under npm.
  const child = spawn('sh', ['-c', `exec ${script}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const url = await waitFor(() => /wall screen\s+(http:\/\/\S+)/.exec(output)?.[1], { timeoutMs: 60_000, intervalMs: 100, message: `the wall screen URL (output so far:\n${output})` });
  return {
    url,
    output: () => output,
    startedAt,
    async stop() {
      child.kill('SIGINT');
      return exited;
    },
  };
}

async function portsEnv(): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.KAFKA_BROKERS;
  return {
    ...env,
    IOCBUS_GATEWAY__HTTP__HOST: '127.0.0.1',
    IOCBUS_GATEWAY__HTTP__PORT: String(await freePort()),
    IOCBUS_GATEWAY__GRPC__HOST: '127.0.0.1',
    IOCBUS_GATEWAY__GRPC__PORT: String(await freePort()),
    IOCBUS_VIEW__HTTP__HOST: '127.0.0.1',
    IOCBUS_VIEW__HTTP__PORT: String(await freePort()),
    IOCBUS_VIEW__GRPC__HOST: '127.0.0.1',
    IOCBUS_VIEW__GRPC__PORT: String(await freePort()),
  };
}

async function receivedToday(url: string): Promise<number> {
  const res = await fetch(`${url}v1/indicators?indicator=received&window=today&scope=province&current=true`);
  if (!res.ok) return 0;
  const body = (await res.json()) as { values: { value: number | null }[] };
  return body.values[0]?.value ?? 0;
}

test('npm start: a live simulated province on the wall screen within 30 seconds, nothing kept', { timeout: 120_000 }, async (t) => {
  const started = await runStart(t, await portsEnv());
  assert.match(started.output(), /in-process bus — NOTHING survives a restart/);
  const html = await (await fetch(started.url)).text();
  assert.match(html, /<script type="module" src="\/wall\/wall\.js">/);
  await waitFor(async () => (await receivedToday(started.url)) > 0, { timeoutMs: 60_000, intervalMs: 250, message: 'simulated dossiers on the wall' });
  const seconds = (Date.now() - started.startedAt) / 1000;
  t.diagnostic(`live indicators ${seconds.toFixed(1)} s after npm start`);
  assert.ok(seconds < 30, `live after ${seconds.toFixed(1)} s`);
  // Still moving: more dossiers a moment later.
  const first = await receivedToday(started.url);
  await waitFor(async () => (await receivedToday(started.url)) !== first, { timeoutMs: 30_000, intervalMs: 250, message: 'the count to move' });
  const metrics = await (await fetch(`${started.url}metrics`)).text();
  for (const prefix of ['iocbus_gateway_', 'iocbus_aggregator_', 'iocbus_view_']) assert.ok(metrics.includes(prefix), `/metrics has ${prefix}*`);
  assert.equal(await started.stop(), 0, started.output());
});

test('with KAFKA_BROKERS the same command runs over Kafka', { timeout: 240_000 }, async (t) => {
  const kafka = await startKafka();
  t.after(() => kafka.stop());
  const name = uniqueName('cli-start');
  const env = {
    ...(await portsEnv()),
    KAFKA_BROKERS: kafka.brokers.join(','),
    IOCBUS_GATEWAY__KAFKA__TOPIC: `${name}.events`,
    IOCBUS_AGGREGATOR__TOPICS__EVENTS: `${name}.events`,
    IOCBUS_AGGREGATOR__TOPICS__CHECKPOINTS: `${name}.checkpoints`,
    IOCBUS_AGGREGATOR__TOPICS__PARTIALS: `${name}.partials`,
    IOCBUS_AGGREGATOR__TOPICS__DEAD_LETTERS: `${name}.dlq`,
    IOCBUS_AGGREGATOR__KAFKA__GROUP_ID: `${name}.group`,
    IOCBUS_VIEW__PARTIALS__TOPIC: `${name}.partials`,
  };
  const started = await runStart(t, env);
  assert.match(started.output(), /running over Kafka at /);
  assert.doesNotMatch(started.output(), /NOTHING survives/);
  await waitFor(async () => (await receivedToday(started.url)) > 0, { timeoutMs: 120_000, intervalMs: 500, message: 'simulated dossiers through Kafka' });
  assert.equal(await started.stop(), 0, started.output());
});
