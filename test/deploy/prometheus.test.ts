/**
 * The Prometheus files under deploy/ checked by Prometheus's own tool: the config (with the rule files it
 * names), the rules, and the rules' unit tests (every alert firing on a synthetic history, and quiet on a
 * healthy one). The live run against the real services is live.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { deployPath, loadDashboards, loadRules, metricNames, run, dashboardQueries } from './support.js';

test('promtool check config accepts prometheus.yml and the rule files it names', async () => {
  const r = await run('promtool', ['check', 'config', deployPath('prometheus', 'prometheus.yml')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 1 rule files found/);
  assert.match(r.stdout, /SUCCESS: 16 rules found/);
});

test('promtool check rules accepts the rules', async () => {
  const r = await run('promtool', ['check', 'rules', deployPath('prometheus', 'rules', 'iocbus.yml')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('promtool test rules: every alert fires on its scenario and stays quiet on a healthy one', async () => {
  const r = await run('promtool', ['test', 'rules', deployPath('prometheus', 'tests', 'iocbus.test.yml')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
  assert.doesNotMatch(r.stdout, /FAILED/);
  const testFile = readFileSync(deployPath('prometheus', 'tests', 'iocbus.test.yml'), 'utf8');
  for (const rule of loadRules()) {
    if (rule.alert === undefined) continue;
    assert.match(testFile, new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${rule.alert} has a firing case`);
  }
});

test('the alerts the issue asks for exist, and every recorded signal is used by an alert or a dashboard', () => {
  const rules = loadRules();
  const alerts = new Set(rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert])));
  for (const name of ['IocbusConsumerLagGrowing', 'IocbusIngestFailureRatioHigh', 'IocbusIngestRejectionRatioHigh', 'IocbusDeadLetters', 'IocbusSourceSilent', 'IocbusUnitOverdueJump', 'IocbusCheckpointStale']) {
    assert.ok(alerts.has(name), `alert ${name}`);
  }
  const used = new Set([...rules.filter((r) => r.alert !== undefined), ...loadDashboards().flatMap(dashboardQueries)].flatMap((x) => metricNames(x.expr)));
  for (const r of rules) if (r.record !== undefined) assert.ok(used.has(r.record), `${r.record} is read somewhere`);
});

test('metricNames finds the series an expression reads, not its functions, labels or durations', () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (le, transport) (rate(iocbus_gateway_request_duration_seconds_bucket{transport="grpc"}[$__rate_interval])))'),
    ['iocbus_gateway_request_duration_seconds_bucket'],
  );
  assert.deepEqual(metricNames('(sum(rate(a_total{result="failed"}[5m])) or vector(0)) / sum(rate(a_total[5m])) > 1e3'), ['a_total']);
  assert.deepEqual(metricNames('x:y:z > 10000 and deriv(x:y:z[10m]) > 0 offset 1h'), ['x:y:z']);
  assert.deepEqual(metricNames('time() - max by (source) (b_seconds) > 6 * 3600'), ['b_seconds']);
});
