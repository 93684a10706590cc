/**
 * `node --import tsx scripts/run-tests.ts [--no-kafka] [path filters...]`
 *
 * Node 20's test runner does not expand globs, so this finds the test files itself, starts ONE Kafka broker for
 * the whole run (startKafka: KAFKA_BROKERS, else testcontainers, else Apache Kafka's jars), hands it to every
 * file through KAFKA_BROKERS, and makes sure the broker never outlives the run.
 * Files run one at a time (--test-concurrency=1): they share the broker and a 2-core machine.
 * --test-force-exit: a file whose tests all finished must not hold the run forever because a client library left
 * a timer or socket behind (seen once with kafkajs in packages/bus/src/kafka/bus.test.ts: every test passed, the
 * process never exited); the leak is a bug to find, but it must not turn a green run into a CI timeout.
 * With --no-kafka no shared broker is started; a file that needs Kafka then starts its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka, type KafkaBroker } from '@iocbus/testing';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);

async function testFilesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) found.push(...(await testFilesUnder(path)));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

async function findTestFiles(filters: string[]): Promise<string[]> {
  const dirs: string[] = [join(root, 'test')];
  for (const group of ['packages', 'services']) {
    const members = await readdir(join(root, group), { withFileTypes: true }).catch(() => []);
    for (const m of members) if (m.isDirectory()) dirs.push(join(root, group, m.name, 'src'));
  }
  const files = (await Promise.all(dirs.map(testFilesUnder))).flat().map((f) => relative(root, f).split(sep).join('/'));
  const selected = filters.length === 0 ? files : files.filter((f) => filters.some((s) => f.includes(s)));
  return [...new Set(selected)].sort();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const withKafka = !args.includes('--no-kafka');
  const filters = args.filter((a) => a !== '--no-kafka');
  const files = await findTestFiles(filters);
  if (files.length === 0) {
    console.error(filters.length > 0 ? `run-tests: no *.test.ts file matches ${filters.join(', ')}` : 'run-tests: no *.test.ts files found');
    return filters.length > 0 ? 1 : 0;
  }
  console.log(`run-tests: ${files.length} test file(s)${withKafka ? '' : ', no shared Kafka broker (--no-kafka)'}`);

  let broker: KafkaBroker | undefined;
  let child: ChildProcess | undefined;
  let stopping: Promise<void> | undefined;
  const stopBroker = (): Promise<void> => (stopping ??= broker ? broker.stop() : Promise.resolve());

  // A signal must reach the test files and still stop the broker before we go.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`run-tests: ${signal}, stopping`);
      child?.kill(signal);
      void stopBroker().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)));
    });
  }

  try {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (withKafka) {
      const started = Date.now();
      broker = await startKafka({ log: (line) => console.log(`run-tests: ${line}`) });
      if (broker.source === 'env') {
        console.log(`run-tests: kafka broker ${broker.version} (env) at ${broker.brokers.join(',')}`);
      }
      console.log(`run-tests: broker ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      env['KAFKA_BROKERS'] = broker.brokers.join(',');
      // 'unknown' (an external KAFKA_BROKERS) must not become the version that files launching their own broker fetch.
      if (broker.version !== 'unknown') env['IOCBUS_KAFKA_VERSION'] = broker.version;
    }
    child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', '--test-reporter=spec', '--test-reporter-destination=stdout', ...files],
      { cwd: root, env, stdio: 'inherit' },
    );
    const running = child;
    const code = await new Promise<number>((resolve) => {
      running.once('error', (error) => {
        console.error(`run-tests: could not start the test runner: ${error.message}`);
        resolve(1);
      });
      running.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
    });
    return code;
  } finally {
    await stopBroker();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('run-tests:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
