import { spawnSync } from 'node:child_process';

/**
 * For tests: what Prometheus's own checker (`promtool check metrics`, Debian package `prometheus`) finds in an
 * exposition — parse errors and lint findings. prom-client's default `nodejs_active_*_total` gauges break
 * the `_total` rule and are not ours to rename, so they are left out; anything else is a finding.
 */
export function promtoolFindings(body: string): string[] {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  if (run.error !== undefined) throw run.error;
  return `${run.stdout}${run.stderr}`
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^nodejs_active_\w+_total non-counter/.test(line));
}
