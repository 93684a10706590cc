/**
 * Grafana's provisioning and dashboards as files: the data source every panel names is the provisioned one,
 * the dashboards folder is where compose mounts it, and each dashboard is well formed (unique ids, a query in
 * every panel, variables defined before use, panels inside the 24-column grid). Whether the queries return
 * data from the real services is live.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DASHBOARD_FILES, allPanels, loadDashboards, parseYaml, readDeploy } from './support.js';

const datasources = parseYaml<{ datasources: { uid: string; type: string; url: string; isDefault: boolean }[] }>(
  readDeploy('grafana', 'provisioning', 'datasources', 'prometheus.yml'),
).datasources;
const compose = parseYaml<{ services: Record<string, { volumes?: string[]; ports?: string[]; environment?: Record<string, string> }> }>(readDeploy('compose.yaml'));

test('one provisioned Prometheus data source, at the compose service and port', () => {
  assert.equal(datasources.length, 1);
  const [ds] = datasources;
  assert.equal(ds!.type, 'prometheus');
  assert.equal(ds!.isDefault, true);
  const url = new URL(ds!.url);
  assert.ok(compose.services[url.hostname] !== undefined, `compose has a ${url.hostname} service`);
  assert.ok(compose.services[url.hostname]!.ports!.some((p) => p.endsWith(`:${url.port}`)), `${url.hostname} listens on ${url.port}`);
});

test('the dashboards provider reads the folder compose mounts the dashboards into, and the home dashboard exists', () => {
  const provider = parseYaml<{ providers: { type: string; options: { path: string } }[] }>(readDeploy('grafana', 'provisioning', 'dashboards', 'iocbus.yml')).providers[0]!;
  assert.equal(provider.type, 'file');
  const grafana = compose.services.grafana!;
  assert.ok(grafana.volumes!.includes(`./grafana/dashboards:${provider.options.path}:ro`), grafana.volumes!.join(', '));
  assert.ok(grafana.volumes!.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'));
  const home = grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
  assert.ok(home.startsWith(`${provider.options.path}/`) && DASHBOARD_FILES.includes(home.slice(provider.options.path.length + 1)), home);
});

test('dashboards are well formed and every query goes to the provisioned data source', () => {
  const dashboards = loadDashboards();
  const uid = datasources[0]!.uid;
  assert.equal(new Set(dashboards.map((d) => d.uid)).size, dashboards.length);
  for (const d of dashboards) {
    const panels = allPanels(d);
    assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, `${d.uid}: unique panel ids`);
    const vars = new Set((d.templating?.list ?? []).map((v) => v.name));
    for (const v of d.templating?.list ?? []) if (v.datasource !== undefined) assert.equal(v.datasource.uid, uid);
    for (const p of panels) {
      assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24 && p.gridPos.h > 0, `${d.uid}/${p.title}: grid`);
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, uid, `${d.uid}/${p.title}: panel data source`);
      assert.ok((p.targets ?? []).length > 0, `${d.uid}/${p.title}: has a query`);
      assert.equal(new Set(p.targets!.map((t) => t.refId)).size, p.targets!.length);
      for (const t of p.targets!) {
        assert.equal(t.datasource?.uid, uid, `${d.uid}/${p.title}: target data source`);
        assert.ok(t.expr.trim().length > 0);
        for (const m of t.expr.matchAll(/\$(\w+)/g)) {
          if (m[1]!.startsWith('__')) continue;
          assert.ok(vars.has(m[1]!), `${d.uid}/${p.title}: $${m[1]} is defined`);
        }
      }
    }
  }
});

test('the operations dashboard covers ingest, streams, Kafka produce and consume, lag and processes; the IOC one the Decision 766 score and unit groups', () => {
  const [ops, ioc] = loadDashboards();
  const exprs = (d: typeof ops) => allPanels(d!).flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
  for (const m of ['iocbus_gateway_events_total', 'iocbus_gateway_request_duration_seconds_bucket{transport="grpc"}', 'iocbus_view_stream_messages_total', 'iocbus_gateway_kafka_produce_duration_seconds_bucket', 'iocbus_aggregator_events_total', 'iocbus_aggregator_consumer_lag_records', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds']) {
    assert.ok(exprs(ops).includes(m), `operations: ${m}`);
  }
  for (const m of ['indicator="qd766.score"', 'scope="unit_group"', 'window="$window"', 'iocbus:unit_overdue_dossiers:max', 'iocbus:source_silence_seconds']) {
    assert.ok(exprs(ioc).includes(m), `ioc: ${m}`);
  }
});
