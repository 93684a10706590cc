import { publishFile } from '../publish/publish.js';
import { Progress, formatCount, formatDuration } from '../util/progress.js';
import { UsageError, number, parse } from '../util/args.js';
import type { Command } from '../util/command.js';
import { TARGET_OPTIONS, TARGET_USAGE, clientFromOptions } from './target.js';

const usage = `Usage: iocbus publish FILE.ndjson [options]

Sends a file of CloudEvents (one JSON object per line, as agency systems export them) to the gateway in
batches, with a progress bar on stderr. Retries what is retriable (429 with Retry-After, 503, network
errors); every line the gateway rejects is written with its line number and reasons to the rejects file.
After each batch the position is saved, so an interrupted run continues with --resume.

${TARGET_USAGE}

Options:
  --rejects FILE      where rejected lines go (default FILE.rejects.ndjson)
  --state FILE        resume state (default FILE.publish-state.json)
  --resume            continue from the saved state
  --restart           ignore an unfinished saved state and start from line 1
  --batch N           events per request (default 500, at most 1000)
  --rate N            at most N events per second
  --concurrency N     requests in flight (default 1; answers are still recorded in file order)
  --quiet             no progress output
  -h, --help          this text

Exit status: 0 all lines accepted or duplicate, 3 some lines rejected (see the rejects file),
1 stopped by an error (the state file allows --resume), 2 usage error.`;

export const publishCommand: Command = {
  name: 'publish',
  summary: 'send an NDJSON file of CloudEvents, with retries, rejects file and resume',
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        ...TARGET_OPTIONS,
        rejects: { type: 'string' },
        state: { type: 'string' },
        resume: { type: 'boolean' },
        restart: { type: 'boolean' },
        batch: { type: 'string' },
        rate: { type: 'string' },
        concurrency: { type: 'string' },
        quiet: { type: 'boolean' },
      },
      true,
    );
    const [file, ...extra] = positionals;
    if (file === undefined || extra.length > 0) throw new UsageError('expected exactly one FILE.ndjson');
    if (values.resume === true && values.restart === true) throw new UsageError('--resume and --restart are alternatives');
    const batch = number('batch', values.batch, { min: 1, integer: true }) ?? 500;
    if (batch > 1000) throw new UsageError('--batch: the gateway takes at most 1000 events per request');
    const rate = number('rate', values.rate, { min: 1 });
    const concurrency = number('concurrency', values.concurrency, { min: 1, integer: true });
    const client = clientFromOptions(values);
    const progress = new Progress({ quiet: values.quiet === true });
    const abort = new AbortController();
    const onSignal = (): void => abort.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const s = await publishFile({
        file,
        client,
        batchSize: batch,
        progress,
        signal: abort.signal,
        ...(values.rejects === undefined ? {} : { rejectsPath: values.rejects }),
        ...(values.state === undefined ? {} : { statePath: values.state }),
        ...(values.resume === true ? { resume: true } : {}),
        ...(values.restart === true ? { restart: true } : {}),
        ...(rate === undefined ? {} : { rate }),
        ...(concurrency === undefined ? {} : { concurrency }),
      });
      progress.done(
        `${s.file}: ${formatCount(s.lines)} events from line ${s.startLine} in ${formatDuration(s.elapsedMs)} → accepted ${formatCount(s.accepted)}, duplicate ${formatCount(s.duplicate)}, rejected ${formatCount(s.rejected)}` +
          (s.rejected > 0 ? ` (reasons in ${s.rejectsPath})` : ''),
      );
      return s.rejected > 0 ? 3 : 0;
    } catch (err) {
      if (abort.signal.aborted) {
        progress.done(`interrupted; continue with: iocbus publish ${file} --resume`);
        return 1;
      }
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await client.close();
    }
  },
};
