import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS } from './commands/index.js';
import { main } from './main.js';

/** Runs main() with what it prints captured. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

test('every command answers --help with its usage and exit 0', async () => {
  assert.deepEqual(
    COMMANDS.map((c) => c.name),
    ['start', 'simulate', 'publish', 'watch', 'gateway', 'aggregator', 'view'],
  );
  for (const c of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const r = await run([c.name, flag]);
      assert.equal(r.code, 0, c.name);
      assert.match(r.out, new RegExp(`^Usage: iocbus ${c.name}`), c.name);
    }
  }
  const overview = await run(['--help']);
  assert.equal(overview.code, 0);
  for (const c of COMMANDS) assert.match(overview.out, new RegExp(`\\n  ${c.name} +${c.summary.replace(/[()+.*?|[\]\\]/g, '\\$&')}`));
  assert.equal((await run(['help', 'publish'])).out, `${COMMANDS.find((c) => c.name === 'publish')?.usage}\n`);
});

test('usage errors name the problem and exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['publish'], /expected exactly one FILE\.ndjson/],
    [['publish', 'a.ndjson', '--batch', '5000', '--api-key', 'k'], /--batch: the gateway takes at most 1000 events/],
    [['publish', 'a.ndjson', '--resume', '--restart'], /--resume and --restart are alternatives/],
    [['simulate', '--out', '-'], /--out needs an end/],
    [['simulate', '--backfill', '2 days'], /--backfill: expected a duration/],
    [['simulate', '--from', '2025-07-01T08:00:00', '--count', '1', '--out', '-'], /--from: expected now, today or an RFC 3339 time with offset/],
    [['simulate', '--grpc', 'nowhere', '--api-key', 'k'], /--grpc: expected host:port/],
    [['start', '--speed', '10'], /--speed needs --simulate/],
    [['watch', '--window', 'week'], /--window: expected today, month/],
    [['watch', '--indicator', 'happiness'], /--indicator: unknown indicator "happiness"/],
    [['publish', 'a.ndjson', '--nope'], /Unknown option '--nope'/],
  ];
  for (const [argv, message] of cases) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, message, argv.join(' '));
  }
  assert.equal((await run([])).code, 2, 'no command is a usage error');
});
