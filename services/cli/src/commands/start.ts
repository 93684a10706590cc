import { loadCatalogFile, loadSampleCatalog } from '@iocbus/catalog/file';
import { createHttpIngestClient } from '../ingest-client/http.js';
import { runSimulation } from '../simulate/run.js';
import { buildSimulator, seedOf, startOfLocalDay } from '../simulate/setup.js';
import { startEmbedded } from '../start/embedded.js';
import { formatLocal } from '../simulator/index.js';
import { Progress } from '../util/progress.js';
import { UsageError, duration, number, parse } from '../util/args.js';
import type { Command } from '../util/command.js';

const usage = `Usage: iocbus start [options]

Runs the whole IOC event bus in one process: gateway (HTTP ${'8080'}, gRPC 50051), aggregator, view
(HTTP 8081, gRPC 50052) and the wall screen at http://127.0.0.1:8081/.

Without KAFKA_BROKERS it runs on an in-process bus: a laptop demo or a small single-node site, with NO
durability — every event and indicator is gone when the process stops. With KAFKA_BROKERS=host:port,…
the same services run over Kafka and keep their state there.

Each service reads its usual settings (IOCBUS_GATEWAY__*, IOCBUS_AGGREGATOR__*, IOCBUS_VIEW__*; see the
README). Without IOCBUS_GATEWAY__AUTH__KEYS_FILE the gateway accepts only the local key printed at start.

Options:
  --simulate          feed it with the province simulator (SAMPLE data), as \`npm start\` does
  --backfill DUR      with --simulate: history to replay first, as fast as it goes (default: since
                      00:00 two days ago, so "today" is complete and dossiers are in process)
  --speed X           with --simulate: simulated seconds per real second afterwards (default 1)
  --seed S            with --simulate: seed (default: 1)
  --scale X           with --simulate: volume multiplier (default 1)
  --rate N            with --simulate: at most N events per second
  --catalog FILE      unit and procedure catalog (default: the SAMPLE catalog)
  --host ADDR         listen address for every port (default: each service's setting, 0.0.0.0)
  --log-level L       fatal, error, warn, info, debug (default warn; the summary lines are always shown)
  -h, --help          this text`;

export const startCommand: Command = {
  name: 'start',
  summary: 'gateway + aggregator + view + wall screen in one process (in-process bus, or Kafka)',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      simulate: { type: 'boolean' },
      backfill: { type: 'string' },
      speed: { type: 'string' },
      seed: { type: 'string' },
      scale: { type: 'string' },
      rate: { type: 'string' },
      catalog: { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
    });
    const simulate = values.simulate === true;
    for (const flag of ['backfill', 'speed', 'seed', 'scale', 'rate'] as const) {
      if (values[flag] !== undefined && !simulate) throw new UsageError(`--${flag} needs --simulate`);
    }
    const speed = number('speed', values.speed, { min: 0.001 }) ?? 1;
    const scale = number('scale', values.scale, { min: 0.0001 });
    const rate = number('rate', values.rate, { min: 1 });
    const backfill = duration('backfill', values.backfill);
    const logLevel = values['log-level'] ?? 'warn';
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) throw new UsageError(`--log-level: unknown level "${logLevel}"`);
    const brokers = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean);
    const catalog = values.catalog === undefined ? await loadSampleCatalog() : await loadCatalogFile(values.catalog);
    const out = (line: string): void => void process.stderr.write(`${line}\n`);

    const wallNow = Date.now();
    const from = backfill === undefined ? startOfLocalDay(wallNow) - 2 * 86_400_000 : wallNow - backfill;
    const sim = simulate
      ? await buildSimulator({ catalog, seed: seedOf(values.seed ?? '1'), startMs: from, ...(scale === undefined ? {} : { scale }) })
      : undefined;
    // With the simulator the services live on its clock: while it replays history the wall shows that
    // history as it happened ("overdue now" as of then), and a compressed run (--speed) stays consistent.
    const clock = sim === undefined ? undefined : () => sim.simulator.now;

    const brokerList = brokers !== undefined && brokers.length > 0 ? brokers : undefined;
    if (brokerList === undefined) {
      out('iocbus: embedded mode on the in-process bus — NOTHING survives a restart: events, dossier state and indicators live in memory only.');
      out('        Set KAFKA_BROKERS=host:port to run the same services over Kafka.');
    } else {
      out(`iocbus: running over Kafka at ${brokerList.join(',')}`);
    }
    const app = await startEmbedded({
      catalog,
      logLevel,
      simulated: simulate,
      ...(brokerList === undefined ? {} : { brokers: brokerList }),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(clock === undefined ? {} : { clock }),
    });
    out(`iocbus: wall screen      ${app.urls.wall}`);
    out(`        indicators API   ${app.urls.wall}v1/indicators  (SSE: ${app.urls.wall}v1/indicators:stream)`);
    out(`        ingest           ${app.urls.gatewayHttp}/v1/events:batch   gRPC ${app.urls.gatewayGrpc}   view gRPC ${app.urls.viewGrpc}`);
    out(`        local API key    ${app.localKey}   (valid until this process stops)`);

    const abort = new AbortController();
    let stopping: Promise<void> | undefined;
    const stop = (signal: string): void => {
      if (stopping !== undefined) return;
      out(`iocbus: ${signal}: stopping`);
      abort.abort();
      stopping = app.close();
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));

    if (sim !== undefined) {
      out(`iocbus: simulating the SAMPLE province from ${formatLocal(from)} (seed ${values.seed ?? '1'}${speed !== 1 ? `, ×${speed}` : ''})`);
      const client = createHttpIngestClient({ url: app.urls.gatewayHttp, apiKey: app.localKey });
      const progress = new Progress({ lineIntervalMs: 30_000 });
      void runSimulation({
        simulator: sim.simulator,
        sink: { kind: 'client', client },
        speed,
        progress,
        signal: abort.signal,
        ...(rate === undefined ? {} : { rate }),
      }).catch((err: unknown) => {
        if (!abort.signal.aborted) app.logger.error({ err }, 'simulator stopped');
      });
    }
    const failed = await Promise.race([
      app.view.failed.then((err) => `view: ${err.message}`),
      app.aggregator.closed.then((err) => (err === undefined ? undefined : `aggregator: ${err.message}`)),
      new Promise<undefined>((resolve) => abort.signal.addEventListener('abort', () => resolve(undefined))),
    ]);
    if (failed !== undefined) {
      out(`iocbus: ${failed}; stopping`);
      stop('failure');
    }
    await stopping;
    return failed === undefined ? 0 : 1;
  },
};
