import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { runSimulation, type SimulationSink } from '../simulate/run.js';
import { buildSimulator, seedOf, startOfLocalDay } from '../simulate/setup.js';
import { formatLocal } from '../simulator/index.js';
import { Progress, formatCount } from '../util/progress.js';
import { UsageError, duration, instant, number, parse } from '../util/args.js';
import type { Command } from '../util/command.js';
import { TARGET_OPTIONS, TARGET_USAGE, clientFromOptions } from './target.js';

const usage = `Usage: iocbus simulate [options]

Simulates a province's one-stop shops (SAMPLE catalog and profile): departments and communes receiving
dossiers on daily and hourly curves, online/direct/postal channels, supplements, early and late results,
digitization, fees and payments, ratings, and agencies that upload late in batches. The same seed and
start give the same events. Events are sent to the gateway (HTTP or gRPC) following a simulated clock,
or written as NDJSON with --out.

Clock:
  --from TIME         simulated start: now, today (00:00 Asia/Ho_Chi_Minh) or RFC 3339 (default: now minus --backfill)
  --backfill DUR      start this long before now and catch up as fast as possible (default 0; e.g. 2d)
  --speed X           simulated seconds per real second once caught up (default 1; 1440 = a day per minute)
  --until TIME        stop at this simulated time
  --duration DUR      stop after this much simulated time
  --count N           stop after N events

Province:
  --seed S            seed (number or text; default 1)
  --scale X           multiply every volume (default 1)
  --catalog FILE      unit and procedure catalog (default: the SAMPLE catalog)
  --profile FILE      simulation profile (default: services/cli/data/sample-simulation-profile.json)

Output:
  --out FILE|-        write NDJSON instead of sending (unpaced; needs --until, --duration or --count)
${TARGET_USAGE}
  --rate N            at most N events per second
  --batch N           events per request (default 500)
  --quiet             no progress output
  -h, --help          this text

Examples:
  iocbus simulate --api-key KEY --backfill 2d              two days of history, then real time
  iocbus simulate --api-key KEY --from today --speed 720   today from midnight, a day every 2 minutes
  iocbus simulate --from 2025-07-07T00:00:00+07:00 --duration 7d --seed 42 --out week.ndjson`;

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'simulate a province and send its events (or write them as NDJSON)',
  usage,
  async run(argv) {
    const { values } = parse(argv, {
      ...TARGET_OPTIONS,
      from: { type: 'string' },
      backfill: { type: 'string' },
      speed: { type: 'string' },
      until: { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      seed: { type: 'string' },
      scale: { type: 'string' },
      catalog: { type: 'string' },
      profile: { type: 'string' },
      out: { type: 'string' },
      rate: { type: 'string' },
      batch: { type: 'string' },
      quiet: { type: 'boolean' },
    });
    const wallNow = Date.now();
    const today = startOfLocalDay(wallNow);
    const backfill = duration('backfill', values.backfill) ?? 0;
    if (values.from !== undefined && values.backfill !== undefined) throw new UsageError('--from and --backfill are alternatives');
    const from = instant('from', values.from, wallNow, today) ?? wallNow - backfill;
    if (values.until !== undefined && values.duration !== undefined) throw new UsageError('--until and --duration are alternatives');
    const until = instant('until', values.until, wallNow, today) ?? (values.duration === undefined ? undefined : from + (duration('duration', values.duration) as number));
    const count = number('count', values.count, { min: 1, integer: true });
    const speed = number('speed', values.speed, { min: 0.001 }) ?? 1;
    const scale = number('scale', values.scale, { min: 0.0001 });
    const rate = number('rate', values.rate, { min: 1 });
    const batch = number('batch', values.batch, { min: 1, integer: true }) ?? 500;
    if (batch > 1000) throw new UsageError('--batch: the gateway takes at most 1000 events per request');
    if (values.out !== undefined && until === undefined && count === undefined) throw new UsageError('--out needs an end: --until, --duration or --count');
    if (until !== undefined && until <= from) throw new UsageError('--until must be after the start');

    const { simulator } = await buildSimulator({
      seed: seedOf(values.seed ?? '1'),
      startMs: from,
      ...(scale === undefined ? {} : { scale }),
      ...(values.catalog === undefined ? {} : { catalogFile: values.catalog }),
      ...(values.profile === undefined ? {} : { profileFile: values.profile }),
    });
    const toStdout = values.out === '-';
    const progress = new Progress({ quiet: values.quiet === true });
    const abort = new AbortController();
    const onSignal = (): void => abort.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    let sink: SimulationSink;
    let finish: () => Promise<void>;
    if (values.out !== undefined) {
      const stream = toStdout ? process.stdout : createWriteStream(values.out);
      sink = {
        kind: 'stream',
        async write(text) {
          if (!stream.write(text)) await once(stream, 'drain');
        },
      };
      finish = async () => {
        if (!toStdout) await new Promise<void>((resolve, reject) => (stream as ReturnType<typeof createWriteStream>).end((err?: Error | null) => (err ? reject(err) : resolve())));
      };
    } else {
      const client = clientFromOptions(values);
      sink = { kind: 'client', client };
      finish = () => client.close();
      progress.log(`simulating from ${formatLocal(from)} (seed ${values.seed ?? '1'}, run ${simulator.runTag}) → ${client.target}`);
    }
    try {
      const s = await runSimulation({
        simulator,
        sink,
        speed,
        paced: values.out === undefined,
        batchSize: batch,
        progress,
        signal: abort.signal,
        ...(until === undefined ? {} : { until }),
        ...(count === undefined ? {} : { maxEvents: count }),
        ...(rate === undefined ? {} : { rate }),
      });
      const st = simulator.stats();
      progress.done(
        `simulated ${formatLocal(s.simulatedFrom)} → ${formatLocal(s.simulatedTo)}: ${formatCount(st.dossiers)} dossiers, ${formatCount(s.sent)} events` +
          (values.out === undefined ? ` (accepted ${formatCount(s.accepted)}, duplicate ${formatCount(s.duplicate)}, rejected ${formatCount(s.rejected)})` : ` written to ${toStdout ? 'stdout' : values.out}`),
      );
      return s.rejected > 0 ? 3 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await finish();
    }
  },
};
