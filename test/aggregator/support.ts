/**
 * Services as real child processes for the aggregator's cross-service tests and the pipeline benchmark:
 * spawn `node --import tsx services/<name>/src/main.ts` with an environment, follow its JSON log lines and
 * its fault-point markers, and kill it (SIGKILL for crash tests, SIGTERM for a clean stop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@iocbus/testing';
import { generateApiKey } from '../../services/gateway/src/api-keys.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Parsed pino lines from stdout so far. */
  readonly logs: Record<string, unknown>[];
  /** stderr so far (fault markers, crashes). */
  stderr(): string;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  waitForStderr(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or signal name) once the process ended. */
  readonly exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

const running = new Set<ServiceProcess>();

/** Kills every child still running (registered with t.after by the tests, and on process exit). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
}
process.on('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});

/** `nodeArgs`: more node options, e.g. `--cpu-prof` (which NODE_OPTIONS does not allow). */
export function spawnService(name: 'aggregator' | 'gateway' | 'view', env: Record<string, string>, nodeArgs: readonly string[] = []): ServiceProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, 'services', name, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let err = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err = (err + chunk).slice(-200_000);
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const proc: ServiceProcess = {
    name,
    child,
    logs,
    stderr: () => err,
    async waitForLog(pred, what, timeoutMs = 60_000) {
      return waitFor(
        () => {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${err.slice(-3000)}`);
          return logs.find(pred);
        },
        { timeoutMs, intervalMs: 50, message: `${name}: ${what}` },
      );
    },
    async waitForStderr(pattern, what, timeoutMs = 60_000) {
      return waitFor(
        () => {
          const m = pattern.exec(err);
          if (m === null && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`${name} exited:\n${err.slice(-3000)}`);
          return m;
        },
        { timeoutMs, intervalMs: 20, message: `${name}: ${what}` },
      );
    },
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      running.delete(proc);
      return code;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

export interface AggregatorTopics {
  events: string;
  checkpoints: string;
  partials: string;
  deadLetters: string;
}

export function topicsFor(prefix: string): AggregatorTopics {
  return { events: `${prefix}-events`, checkpoints: `${prefix}-checkpoints`, partials: `${prefix}-partials`, deadLetters: `${prefix}-dlq` };
}

/** Environment of an aggregator child: test timings, unique topics and group, a free metrics port. */
export function aggregatorEnv(brokers: string[], prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  const t = topicsFor(prefix);
  return {
    KAFKA_BROKERS: brokers.join(','),
    IOCBUS_AGGREGATOR__KAFKA__GROUP_ID: `${prefix}-group`,
    IOCBUS_AGGREGATOR__KAFKA__SESSION_TIMEOUT_MS: '6000',
    IOCBUS_AGGREGATOR__KAFKA__HEARTBEAT_INTERVAL_MS: '1000',
    IOCBUS_AGGREGATOR__KAFKA__MAX_WAIT_TIME_MS: '50',
    IOCBUS_AGGREGATOR__TOPICS__EVENTS: t.events,
    IOCBUS_AGGREGATOR__TOPICS__CHECKPOINTS: t.checkpoints,
    IOCBUS_AGGREGATOR__TOPICS__PARTIALS: t.partials,
    IOCBUS_AGGREGATOR__TOPICS__DEAD_LETTERS: t.deadLetters,
    IOCBUS_AGGREGATOR__TOPICS__EVENTS_PARTITIONS: '4',
    IOCBUS_AGGREGATOR__TOPICS__CHECKPOINTS_PARTITIONS: '2',
    IOCBUS_AGGREGATOR__TOPICS__PARTIALS_PARTITIONS: '2',
    IOCBUS_AGGREGATOR__PUBLISH__INTERVAL_MS: '100',
    IOCBUS_AGGREGATOR__CHECKPOINT__INTERVAL_MS: '500',
    IOCBUS_AGGREGATOR__CHECKPOINT__HEARTBEAT_EVERY_RECORDS: '200',
    IOCBUS_AGGREGATOR__HTTP__HOST: '127.0.0.1',
    IOCBUS_AGGREGATOR__HTTP__PORT: '0',
    IOCBUS_AGGREGATOR__LOG__LEVEL: 'info',
    ...extra,
  };
}

export async function startAggregator(brokers: string[], prefix: string, extra: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<{ proc: ServiceProcess; port: number }> {
  const proc = spawnService('aggregator', aggregatorEnv(brokers, prefix, extra), nodeArgs);
  const line = await proc.waitForLog((l) => l.msg === 'http listening', 'metrics server to listen', 120_000);
  return { proc, port: line.port as number };
}

export interface ReadyStatus {
  status: string;
  partitions: { partition: number; position: string; lag: string; checkpointOffset: string | null; held: boolean }[];
}

export async function readyz(port: number): Promise<{ code: number; body: ReadyStatus }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { code: res.status, body: (await res.json()) as ReadyStatus };
}

/** A gateway child publishing to `topic`, with one admin key allowed everything; resolves with its URL and key. */
export async function startGateway(brokers: string[], topic: string, extra: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<{ proc: ServiceProcess; url: string; key: string }> {
  const admin = await generateApiKey('admin');
  const keysFile = join(tmpdir(), `iocbus-keys-${process.pid}-${Date.now()}.json`);
  await writeFile(keysFile, JSON.stringify({ keys: [{ id: 'admin', hash: admin.hash, sources: ['*'], units: ['*'], rate: { eventsPerSecond: 1_000_000, burst: 1_000_000 } }] }));
  const proc = spawnService('gateway', {
    KAFKA_BROKERS: brokers.join(','),
    IOCBUS_GATEWAY__AUTH__KEYS_FILE: keysFile,
    IOCBUS_GATEWAY__KAFKA__TOPIC: topic,
    IOCBUS_GATEWAY__HTTP__HOST: '127.0.0.1',
    IOCBUS_GATEWAY__HTTP__PORT: '0',
    IOCBUS_GATEWAY__GRPC__HOST: '127.0.0.1',
    IOCBUS_GATEWAY__GRPC__PORT: '0',
    IOCBUS_GATEWAY__LOG__LEVEL: 'info',
    ...extra,
  }, nodeArgs);
  const line = await proc.waitForLog((l) => l.msg === 'gateway listening', 'gateway to listen', 120_000);
  const url = `http://127.0.0.1:${line.httpPort as number}`;
  return { proc, url, key: admin.key };
}

/** A view child over `partialsTopic`; resolves with its ports once it listens. */
export async function startViewProcess(brokers: string[], partialsTopic: string, extra: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<{ proc: ServiceProcess; httpPort: number; grpcPort: number }> {
  const proc = spawnService('view', {
    KAFKA_BROKERS: brokers.join(','),
    IOCBUS_VIEW__PARTIALS__TOPIC: partialsTopic,
    IOCBUS_VIEW__HTTP__HOST: '127.0.0.1',
    IOCBUS_VIEW__HTTP__PORT: '0',
    IOCBUS_VIEW__GRPC__HOST: '127.0.0.1',
    IOCBUS_VIEW__GRPC__PORT: '0',
    IOCBUS_VIEW__LOG__LEVEL: 'info',
    ...extra,
  }, nodeArgs);
  const line = await proc.waitForLog((l) => l.msg === 'listening', 'view to listen', 120_000);
  return { proc, httpPort: line.httpPort as number, grpcPort: line.grpcPort as number };
}
