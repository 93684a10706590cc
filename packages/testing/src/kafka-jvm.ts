import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestingError } from './errors.js';
import { brokerProperties, clusterId, log4jProperties } from './kafka-config.js';
import { waitForMetadata } from './kafka-ready.js';
import { freeLoopbackPorts } from './ports.js';
import { ProcessGuard } from './process-guard.js';

export interface JvmBrokerOptions {
  libsDir: string;
  /** -Xmx for the broker JVM, e.g. '1g'. */
  heap: string;
  startTimeoutMs: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopGraceMs: number;
  /** Extra or overriding broker properties. */
  properties?: Record<string, string | number | boolean>;
  /** Extra JVM options, placed after the defaults so they win. */
  jvmOptions?: string[];
}

export interface JvmBroker {
  brokers: string[];
  /** Temporary folder with server.properties, the KRaft storage and broker.log; removed by stop(). */
  workDir: string;
  /** PID of the current broker JVM; -1 while killed. */
  readonly pid: number;
  /** SIGKILL (the broker vanishes mid-request); the storage, ports and work folder stay for start(). */
  kill(): Promise<void>;
  /** Starts the broker again on the same storage and ports after kill(), waiting until metadata answers. */
  start(): Promise<void>;
  /** SIGTERM, SIGKILL after the grace period, then removes the work folder. Safe to call twice. */
  stop(): Promise<void>;
}

const BIND_ATTEMPTS = 3;

/** Formats a fresh KRaft storage folder and runs a single-node broker+controller on free loopback ports. */
export async function launchJvmBroker(options: JvmBrokerOptions): Promise<JvmBroker> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await launchOnce(options);
    } catch (error) {
      // Free ports are only free until someone else binds them; another broker starting next to us may win.
      const lostPortRace = error instanceof TestingError && error.details?.['bindFailed'] === true;
      if (!lostPortRace || attempt >= BIND_ATTEMPTS) throw error;
    }
  }
}

async function launchOnce(options: JvmBrokerOptions): Promise<JvmBroker> {
  const workDir = await mkdtemp(join(tmpdir(), 'iocbus-kafka-'));
  const guard = new ProcessGuard(workDir);
  try {
    const [brokerPort, controllerPort] = (await freeLoopbackPorts(2)) as [number, number];
    const brokers = [`127.0.0.1:${brokerPort}`];
    const serverProperties = join(workDir, 'server.properties');
    await writeFile(serverProperties, brokerProperties(join(workDir, 'data'), brokerPort, controllerPort, options.properties));
    await writeFile(join(workDir, 'log4j2.properties'), log4jProperties(join(workDir, 'broker.log')));
    const classPath = join(options.libsDir, '*');
    const logging = `-Dlog4j2.configurationFile=${join(workDir, 'log4j2.properties')}`;
    await runStorageFormat(classPath, logging, serverProperties, guard);

    const launch = async (): Promise<RunningJvm> => {
      const running = spawnBroker(options, classPath, logging, serverProperties, guard);
      const ready = await waitForMetadata(
        brokers,
        options.startTimeoutMs,
        running.exited.then(
          (code) => `JVM exited with ${code}`,
          (error: unknown) => String(error),
        ),
      );
      if (ready.ok) return running;
      const tail = await logTail(workDir);
      await running.terminate(options.stopGraceMs);
      throw new TestingError(
        'IOC_TESTING_KAFKA_START',
        `Kafka broker at ${brokers[0]} did not become ready: ${ready.reason}\n--- broker log tail (${workDir}) ---\n${tail}`,
        { details: { bindFailed: /BindException|Address already in use/.test(tail) } },
      );
    };

    let current: RunningJvm | undefined = await launch();
    let stopping: Promise<void> | undefined;
    return {
      brokers,
      workDir,
      get pid() {
        return current?.pid ?? -1;
      },
      async kill() {
        await current?.terminate(0);
        current = undefined;
      },
      async start() {
        if (stopping) throw new TestingError('IOC_TESTING_KAFKA_STOPPED', 'start() after stop(): the broker folder is gone');
        current ??= await launch();
      },
      stop() {
        stopping ??= (async () => {
          await current?.terminate(options.stopGraceMs);
          current = undefined;
          await rm(workDir, { recursive: true, force: true });
          guard.release();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    guard.release();
    throw error;
  }
}

function spawnBroker(
  options: JvmBrokerOptions,
  classPath: string,
  logging: string,
  serverProperties: string,
  guard: ProcessGuard,
): RunningJvm {
  const jvmOut = openSync(join(guard.dir, 'jvm.out'), 'a');
  try {
    const child = spawn(
      'java',
      [
        `-Xmx${options.heap}`,
        '-Xms128m',
        '-XX:+ExitOnOutOfMemoryError',
        // C1 only: about 30 % faster to ready on a busy 2-core box and no C2 compiler threads competing with
        // the tests; peak throughput is lower, so benchmarks that need it pass -XX:TieredStopAtLevel=4.
        '-XX:TieredStopAtLevel=1',
        '-Djava.awt.headless=true',
        ...(options.jvmOptions ?? []),
        logging,
        '-cp',
        classPath,
        'kafka.Kafka',
        serverProperties,
      ],
      { cwd: guard.dir, stdio: ['ignore', jvmOut, jvmOut] },
    );
    return runningJvm(child, guard);
  } finally {
    closeSync(jvmOut);
  }
}

function runStorageFormat(classPath: string, logging: string, serverProperties: string, guard: ProcessGuard): Promise<void> {
  const args = [logging, '-cp', classPath, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', serverProperties, '--standalone'];
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn('java', args, { cwd: guard.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    guard.track(child, 'storage-format');
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('error', (error) => reject(javaError(error)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new TestingError('IOC_TESTING_KAFKA_START', `kafka.tools.StorageTool format exited with ${code}:\n${output.trim()}`));
    });
  });
}

function javaError(error: Error): TestingError {
  const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
  return new TestingError(
    'IOC_TESTING_JAVA_MISSING',
    missing ? 'java is not on PATH: Kafka 4 needs Java 17+ (apt-get install openjdk-17-jre-headless), or set KAFKA_BROKERS' : `could not run java: ${error.message}`,
    { cause: error },
  );
}

export async function logTail(workDir: string, lines = 40): Promise<string> {
  const parts: string[] = [];
  for (const file of ['broker.log', 'jvm.out']) {
    const text = await readFile(join(workDir, file), 'utf8').catch(() => '');
    if (text.trim()) parts.push(`[${file}]\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`);
  }
  return parts.join('\n') || '(no output)';
}

interface RunningJvm {
  pid: number;
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs` (0: SIGKILL at once); resolves when the JVM has exited. */
  terminate(graceMs: number): Promise<void>;
}

function runningJvm(child: ChildProcess, guard: ProcessGuard): RunningJvm {
  const exited = new Promise<number | string>((resolve, reject) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (error) => reject(javaError(error)));
  });
  exited.catch(() => undefined);
  guard.track(child, 'broker');
  // A forgotten stop() must not keep a test process alive; the guard cleans up after it instead.
  child.unref();

  let terminating: Promise<void> | undefined;
  const terminate = (graceMs: number): Promise<void> => {
    terminating ??= (async () => {
      // Awaiting the exit must hold the event loop open, or a caller's `await stop()` could end the process first.
      child.ref();
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
        const timer = graceMs > 0 ? setTimeout(() => child.kill('SIGKILL'), graceMs) : undefined;
        await exited.catch(() => undefined);
        clearTimeout(timer);
      }
    })();
    return terminating;
  };
  return { pid: child.pid ?? -1, exited, terminate };
}
