/**
 * Stopping and starting again a broker that startKafka({ sources: ['jars'] }) launched: the harness has no
 * restart, so this kills its JVM and starts a new one on the same server.properties, storage and ports
 * (Kafka's own data survives, as it would across a real broker restart). Test-only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { KAFKA_VERSION, resolveKafkaJars, type KafkaBroker } from '@iocbus/testing';

export interface RestartableBroker {
  /** SIGKILL: the broker vanishes mid-request, the harshest stop. */
  kill(): Promise<void>;
  /** Starts the broker again on the same storage and ports. */
  start(): Promise<void>;
  /** Kills a broker this helper started; the harness's stop() removes the work folder afterwards. */
  cleanup(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export async function restartable(broker: KafkaBroker): Promise<RestartableBroker> {
  if (broker.source !== 'jars' || broker.pid === undefined || broker.workDir === undefined) {
    throw new Error('a restartable broker must come from startKafka({ sources: ["jars"] })');
  }
  const workDir = broker.workDir;
  const { libsDir } = await resolveKafkaJars({ version: broker.version === 'unknown' ? KAFKA_VERSION : broker.version, log: () => undefined });
  let child: ChildProcess | undefined;
  const killOnExit = (): void => void child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  return {
    async kill() {
      if (child !== undefined) {
        child.kill('SIGKILL');
        await exited(child);
        child = undefined;
        return;
      }
      process.kill(broker.pid as number, 'SIGKILL');
      // The harness's own handle notices the exit; wait until the pid is gone.
      for (;;) {
        try {
          process.kill(broker.pid as number, 0);
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async start() {
      child = spawn(
        'java',
        [
          '-Xmx1g',
          '-Xms128m',
          '-Djava.awt.headless=true',
          `-Dlog4j2.configurationFile=${join(workDir, 'log4j2.properties')}`,
          '-cp',
          join(libsDir, '*'),
          'kafka.Kafka',
          join(workDir, 'server.properties'),
        ],
        { cwd: workDir, stdio: 'ignore' },
      );
      child.unref();
    },
    async cleanup() {
      process.removeListener('exit', killOnExit);
      if (child !== undefined) {
        child.kill('SIGKILL');
        await exited(child);
      }
    },
  };
}
