/**
 * The observability stack against the real services: gateway, aggregator and view run as the image runs
 * them (the Dockerfile's entrypoint with compose's command and environment) over a real Kafka broker, and a
 * real Prometheus scrapes them with deploy/prometheus's scrape jobs and rules (1 s intervals, loopback
 * targets). After a scenario (valid events over HTTP and gRPC, an invalid one, an SSE subscriber, a unit
 * whose overdue count jumps, a poison record), every PromQL expression of the dashboards and rules evaluates
 * through Prometheus's HTTP API and returns data, IocbusDeadLetters fires and IocbusUnitOverdueJump is
 * pending, every metric name used exists in the services' /metrics, promtool check metrics accepts each
 * exposition, and the probes of the k8s manifests and compose health checks answer on the running services.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { createKafkaBus } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { toCloudEventJson, toKafkaRecord, type DossierEvent } from '@iocbus/events';
import { promtoolFindings } from '@iocbus/telemetry';
import { startKafka, uniqueName, waitFor } from '@iocbus/testing';
import { freeLoopbackPorts } from '../../packages/testing/src/ports.js';
import { vnTime, workload } from '../../services/aggregator/src/workload.js';
import { createGrpcIngestClient } from '../../services/cli/src/ingest-client/grpc.js';
import {
  ROOT,
  dashboardQueries,
  deployPath,
  expandVariables,
  exposedSampleNames,
  labelValuesQuery,
  loadDashboards,
  loadRules,
  metricNames,
  parseYaml,
  parseYamlDocuments,
  readDeploy,
  run,
  type Role,
} from './support.js';

const catalog = await loadSampleCatalog();

interface Proc {
  name: string;
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<unknown>;
}

function spawnLogged(name: string, file: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(file, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        if (line.trim() !== '') logs.push({ msg: line });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => void (err = (err + chunk).slice(-20_000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { name, child, logs, stderr: () => err, exited };
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(timer);
}

function alive(p: Proc): void {
  if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.stderr()}`);
}

/** The command line the image runs for a compose service: ENTRYPOINT (after tini) + the service's command. */
function imageCommand(command: string[]): string[] {
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(readDeploy('Dockerfile'))![1]!) as string[];
  const fromNode = entrypoint.slice(entrypoint.indexOf('node') + 1);
  return [...fromNode, ...command];
}

/** The environment the image sets with ENV (NODE_OPTIONS carries the gateway's node flags), which the
 * services would otherwise start without. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, name, value] of readDeploy('Dockerfile').matchAll(/^ENV (\w+)=(".*"|\S+)$/gm)) {
    env[name!] = value!.startsWith('"') ? (JSON.parse(value!) as string) : value!;
  }
  return env;
}

interface PromResult {
  status: string;
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value?: [number, string] }[] };
}

test('Prometheus scrapes the real services; every dashboard and rule expression returns data; alerts fire', { timeout: 360_000 }, async (t) => {
  const cleanups: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  const kafka = await startKafka();
  cleanups.push(() => kafka.stop());
  const bus = createKafkaBus({ brokers: kafka.brokers, clientId: 'deploy-live-test', clientLogLevel: 'nothing' });
  cleanups.push(() => bus.close());
  const work = await mkdtemp(join(tmpdir(), 'iocbus-deploy-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));

  // ---- the roles, as compose runs them, on loopback with test-unique topics and group ----------------------
  const compose = parseYaml<{ services: Record<string, { command: string[]; environment?: Record<string, string | number> }> }>(readDeploy('compose.yaml'));
  const prefix = uniqueName('deploy');
  const topics = { events: `${prefix}-events`, checkpoints: `${prefix}-checkpoints`, partials: `${prefix}-partials`, dlq: `${prefix}-dlq` };
  const overrides: Record<Role, Record<string, string>> = {
    gateway: {
      IOCBUS_GATEWAY__AUTH__KEYS_FILE: deployPath('compose', 'demo-keys.json'), // the file compose mounts
      IOCBUS_GATEWAY__KAFKA__TOPIC: topics.events,
      IOCBUS_GATEWAY__HTTP__HOST: '127.0.0.1',
      IOCBUS_GATEWAY__HTTP__PORT: '0',
      IOCBUS_GATEWAY__GRPC__HOST: '127.0.0.1',
      IOCBUS_GATEWAY__GRPC__PORT: '0',
    },
    aggregator: {
      IOCBUS_AGGREGATOR__TOPICS__EVENTS: topics.events,
      IOCBUS_AGGREGATOR__TOPICS__CHECKPOINTS: topics.checkpoints,
      IOCBUS_AGGREGATOR__TOPICS__PARTIALS: topics.partials,
      IOCBUS_AGGREGATOR__TOPICS__DEAD_LETTERS: topics.dlq,
      IOCBUS_AGGREGATOR__KAFKA__GROUP_ID: `${prefix}-group`,
      IOCBUS_AGGREGATOR__HTTP__HOST: '127.0.0.1',
      IOCBUS_AGGREGATOR__HTTP__PORT: '0',
    },
    view: {
      IOCBUS_VIEW__PARTIALS__TOPIC: topics.partials,
      IOCBUS_VIEW__KAFKA__TOPIC_RETRY_MS: '500',
      IOCBUS_VIEW__HTTP__HOST: '127.0.0.1',
      IOCBUS_VIEW__HTTP__PORT: '0',
      IOCBUS_VIEW__GRPC__HOST: '127.0.0.1',
      IOCBUS_VIEW__GRPC__PORT: '0',
    },
  };
  const procs = {} as Record<Role, Proc>;
  for (const role of ['gateway', 'aggregator', 'view'] as Role[]) {
    const service = compose.services[role]!;
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
    procs[role] = spawnLogged(role, process.execPath, imageCommand(service.command), { ...imageEnv(), ...env, KAFKA_BROKERS: kafka.brokers.join(','), ...overrides[role] });
    cleanups.push(() => stop(procs[role]));
  }
  const portsOf = async (role: Role): Promise<{ http: number; grpc?: number }> => {
    const line = await waitFor(
      () => {
        alive(procs[role]);
        return procs[role].logs.find((l) => typeof l.httpPort === 'number' || (typeof l.port === 'number' && String(l.msg).includes('listening')));
      },
      { timeoutMs: 90_000, intervalMs: 100, message: `${role} listening` },
    );
    return typeof line.httpPort === 'number' ? { http: line.httpPort, grpc: line.grpcPort as number } : { http: line.port as number };
  };
  const ports = { gateway: await portsOf('gateway'), aggregator: await portsOf('aggregator'), view: await portsOf('view') };
  const flagWarnings = procs.gateway.logs.filter((l) => String(l.msg).includes("started without the gateway's flags"));
  assert.deepEqual(flagWarnings, [], 'the gateway runs with its node flags, as the image starts it');
  const url = (role: Role, path: string) => `http://127.0.0.1:${ports[role].http}${path}`;
  for (const role of ['gateway', 'aggregator', 'view'] as Role[]) {
    await waitFor(async () => (alive(procs[role]), (await fetch(url(role, '/readyz'))).status === 200), { timeoutMs: 90_000, intervalMs: 250, message: `${role} ready` });
  }

  // ---- Prometheus with deploy/prometheus's jobs and rules, pointed at the processes above --------------------
  const [promPort] = await freeLoopbackPorts(1);
  const promConfig = parseYaml<{ global: Record<string, unknown>; rule_files: string[]; scrape_configs: Record<string, unknown>[] }>(readDeploy('prometheus', 'prometheus.yml'));
  promConfig.global.scrape_interval = '1s';
  promConfig.global.evaluation_interval = '1s';
  promConfig.rule_files = promConfig.rule_files.map((f) => deployPath('prometheus', f));
  for (const job of promConfig.scrape_configs) {
    const role = /^iocbus-(\w+)$/.exec(String(job.job_name))?.[1] as Role | undefined;
    const target = role === undefined ? `127.0.0.1:${promPort}` : `127.0.0.1:${ports[role].http}`;
    delete job.dns_sd_configs;
    job.static_configs = [{ targets: [target] }];
  }
  await writeFile(join(work, 'prometheus.yml'), JSON.stringify(promConfig));
  const prometheus = spawnLogged('prometheus', 'prometheus', [
    `--config.file=${join(work, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(work, 'data')}`,
    '--storage.tsdb.retention.time=1h',
    `--web.listen-address=127.0.0.1:${promPort}`,
    '--log.level=warn',
  ], {});
  cleanups.push(() => stop(prometheus));
  const prom = `http://127.0.0.1:${promPort}`;
  await waitFor(async () => (alive(prometheus), (await fetch(`${prom}/-/ready`).catch(() => undefined))?.status === 200), { timeoutMs: 30_000, intervalMs: 200, message: 'prometheus ready' });
  const query = async (expr: string): Promise<PromResult> => {
    const res = await fetch(`${prom}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
    return (await res.json()) as PromResult;
  };
  const hasData = async (expr: string): Promise<boolean> => {
    const r = await query(expr);
    assert.equal(r.status, 'success', `${expr}: ${r.error}`);
    return r.data.result.length > 0;
  };

  // ---- the scenario -----------------------------------------------------------------------------------------
  const apiKey = String(compose.services.simulator!.environment!.IOCBUS_API_KEY);
  const postBatch = async (events: unknown[]): Promise<{ accepted: number; rejected: number }> => {
    const res = await fetch(url('gateway', '/v1/events:batch'), {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    assert.equal(res.status, 202, await res.clone().text());
    return (await res.json()) as { accepted: number; rejected: number };
  };
  // Today's events need today to have begun at least a minute ago (Asia/Ho_Chi_Minh).
  await waitFor(() => (Date.now() + 7 * 3_600_000) % 86_400_000 > 70_000, { timeoutMs: 75_000, intervalMs: 1000, message: 'past 00:01 local' });
  const now = Date.now();
  const departments = catalog.units.filter((u) => u.group === 'department').slice(0, 2);
  const communes = catalog.units.filter((u) => u.group === 'commune').slice(0, 3);
  const jumpUnit = communes[2]!;
  let seq = 0;
  const dossier = (unit: { code: string }, i: number, o: { overdue?: boolean; resolve?: boolean }): DossierEvent[] => {
    const proc = catalog.procedures[i % catalog.procedures.length]!;
    const code = `${prefix}.${unit.code}-${i}`;
    const received = now - 60_000;
    const steps: [number, string, Record<string, unknown>][] = [
      [received, 'received', {
        receivedAt: vnTime(received),
        dueAt: vnTime(o.overdue === true ? received + 1000 : now + 5 * 86_400_000),
        channel: i % 3 === 0 ? 'direct' : 'online',
        applicantType: 'citizen',
        paperResultRequired: proc.paperResultRequired,
        populationDbUsed: i % 2 === 0,
        vneidAuthenticated: i % 2 === 1,
        components: [{ code: 'TP1', digitized: true, reused: i % 2 === 0, fromPersonalStore: i % 4 === 0 }],
      }],
    ];
    if (proc.fee > 0) steps.push([now - 50_000, 'fee_requested', { amount: proc.fee }], [now - 45_000, 'fee_paid', { paidAt: vnTime(now - 45_000), amount: proc.fee, method: 'national_portal' }]);
    if (o.resolve === true) {
      steps.push(
        [now - 40_000, 'resolved', { resolvedAt: vnTime(now - 40_000) }],
        [now - 35_000, 'result_issued', { electronic: true }],
        [now - 30_000, 'result_returned', { returnedAt: vnTime(now - 30_000), method: 'electronic' }],
        [now - 25_000, 'rated', { rating: i % 5 === 0 ? 'dissatisfied' : 'satisfied' }],
        [now - 20_000, 'synced_national', { syncedAt: vnTime(now - 20_000) }],
      );
    }
    return steps.map(([at, type, data]) => ({
      specversion: '1.0',
      id: `${prefix}-${++seq}`,
      source: `/agencies/${unit.code}/igate`,
      type: `vn.gov.tthc.dossier.${type}`,
      time: vnTime(at),
      subject: code,
      data: { dossierCode: code, procedureCode: proc.code, unitCode: unit.code, ...(proc.sectorCode === undefined ? {} : { sectorCode: proc.sectorCode }), occurredAt: vnTime(at), ...data },
    }) as unknown as DossierEvent);
  };
  const today = [...departments, ...communes.slice(0, 2)].flatMap((u, k) =>
    Array.from({ length: 6 }, (_, i) => dossier(u, k * 10 + i, { resolve: i % 2 === 0, overdue: i === 5 })).flat(),
  );
  // The jump unit starts with one dossier in process and none overdue.
  today.push(...dossier(jumpUnit, 900, {}));
  const history = workload(120, { catalog, nowMs: now, seed: 7, spanDays: 3, prefix: `${prefix}-h` });
  const grpcPart = today.splice(0, 10);
  for (let i = 0; i < history.length; i += 500) assert.equal((await postBatch(history.slice(i, i + 500).map(toCloudEventJson))).rejected, 0);
  assert.equal((await postBatch(today.map(toCloudEventJson))).rejected, 0);
  const grpcClient = createGrpcIngestClient({ address: `127.0.0.1:${ports.gateway.grpc}`, apiKey });
  const answer = await grpcClient.send(grpcPart.map(toCloudEventJson));
  await grpcClient.close();
  assert.ok(answer.kind === 'done' && answer.outcomes.every((o) => o.status === 'accepted'), JSON.stringify(answer));
  // An invalid event (no data) is rejected: the ingest error ratio has something to show.
  const bad = { ...toCloudEventJson(today[0]!), id: `${prefix}-bad` } as Record<string, unknown>;
  delete bad.data;
  assert.equal((await postBatch([bad])).rejected, 1);

  // An SSE subscriber that reads, then leaves (stream messages, subscribers, streams ended by the client).
  const sse = new AbortController();
  const stream = await fetch(url('view', '/v1/indicators:stream'), { signal: sse.signal });
  assert.equal(stream.status, 200);
  const reader = stream.body!.getReader();
  const first = await reader.read();
  assert.ok(first.value !== undefined && first.value.length > 0);

  // Baseline of the jump unit's overdue count (0) in Prometheus for a few scrapes, then 12 overdue dossiers.
  await waitFor(async () => hasData(`count_over_time(iocbus_view_unit_overdue_dossiers{unit="${jumpUnit.code}"}[1m]) >= 3`), {
    timeoutMs: 60_000,
    intervalMs: 500,
    message: 'baseline of the jump unit scraped',
  });
  sse.abort();
  assert.equal((await postBatch(Array.from({ length: 12 }, (_, i) => dossier(jumpUnit, 1000 + i, { overdue: true })).flat().map(toCloudEventJson))).rejected, 0);
  // A poison record straight onto the events topic: undecodable data, valid headers.
  const base = toKafkaRecord(today[20]!);
  await bus.log.append(topics.events, [{ key: base.key, value: Buffer.from([0xff, 0xff, 0xff, 0x01]), headers: { ...base.headers, ce_id: `${prefix}-poison` } }]);

  // ---- alerts --------------------------------------------------------------------------------------------------
  const alerts = async () =>
    ((await (await fetch(`${prom}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } }).data.alerts;
  const fired = await waitFor(async () => (await alerts()).find((a) => a.labels.alertname === 'IocbusDeadLetters' && a.state === 'firing'), {
    timeoutMs: 60_000,
    intervalMs: 500,
    message: 'IocbusDeadLetters firing',
  });
  assert.equal(fired.labels.severity, 'warning');
  const jump = await waitFor(async () => (await alerts()).find((a) => a.labels.alertname === 'IocbusUnitOverdueJump' && a.labels.unit === jumpUnit.code), {
    timeoutMs: 60_000,
    intervalMs: 500,
    message: 'IocbusUnitOverdueJump pending for the jump unit',
  });
  assert.ok(['pending', 'firing'].includes(jump.state), jump.state);
  assert.deepEqual((await alerts()).filter((a) => a.labels.alertname === 'IocbusUnitOverdueJump').map((a) => a.labels.unit), [jumpUnit.code], 'only the jump unit');

  // ---- every expression -----------------------------------------------------------------------------------------
  const rules = loadRules();
  const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));
  type RuleState = { name: string; health: string; lastError?: string };
  await waitFor(
    async () => {
      const groups = ((await (await fetch(`${prom}/api/v1/rules`)).json()) as { data: { groups: { rules: RuleState[] }[] } }).data.groups;
      const states = groups.flatMap((g) => g.rules);
      assert.equal(states.length, rules.length, 'every rule loaded');
      return states.every((s) => s.health === 'ok') ? states : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 500, message: 'every rule evaluated without error' },
  );
  const dashboards = loadDashboards();
  // One pass over every expression; errors fail at once, expressions without data are returned. Counters that
  // appeared moments ago (a stream that just ended) need two scrapes before rate() has a value: passes repeat.
  const evaluateAll = async (): Promise<string[]> => {
    const missing: string[] = [];
    const check = async (what: string, expr: string, needData: boolean) => {
      const r = await query(expr);
      assert.equal(r.status, 'success', `${what}: ${expr}: ${r.error}`);
      if (needData && r.data.result.length === 0) missing.push(`${what}: ${expr}`);
    };
    for (const r of rules) {
      // Recording rules carry the signals: they must have data. Alerts must evaluate, and every series they read exist.
      await check(r.record ?? r.alert!, r.expr, r.record !== undefined);
      if (r.alert !== undefined) for (const name of metricNames(r.expr)) await check(`${r.alert} reads`, name, true);
    }
    for (const d of dashboards) {
      const vars = d.templating?.list ?? [];
      for (const q of dashboardQueries(d)) for (const expr of expandVariables(q.expr, vars)) await check(`${d.uid}/${q.panel}`, expr, true);
    }
    return missing;
  };
  let missing = await evaluateAll();
  await waitFor(async () => (missing = await evaluateAll()).length === 0, { timeoutMs: 30_000, intervalMs: 1000 }).catch(() => undefined);
  for (const d of dashboards) {
    for (const v of d.templating?.list ?? []) {
      const lv = labelValuesQuery(v);
      if (lv === undefined) continue;
      const res = (await (await fetch(`${prom}/api/v1/label/${lv.label}/values?${new URLSearchParams({ 'match[]': lv.selector })}`)).json()) as { data: string[] };
      assert.deepEqual(res.data.sort(), ['commune', 'department'], `variable ${v.name}`);
    }
  }
  assert.deepEqual(missing, [], `expressions without data:\n${missing.join('\n')}`);

  // ---- the services' expositions: promtool check metrics, and every metric name used exists -----------------------
  const exposed = new Set<string>();
  for (const role of ['gateway', 'aggregator', 'view'] as Role[]) {
    const text = await (await fetch(url(role, '/metrics'))).text();
    for (const n of exposedSampleNames(text)) exposed.add(n);
    // promtool check metrics: parse errors and lint findings (prom-client's nodejs_active_*_total excepted).
    assert.deepEqual(promtoolFindings(text), [], `${role}: promtool check metrics`);
  }
  const used = new Set([...rules.map((r) => r.expr), ...dashboards.flatMap(dashboardQueries).map((q) => q.expr), ...dashboards.flatMap((d) => (d.templating?.list ?? []).flatMap((v) => labelValuesQuery(v)?.selector ?? []))].flatMap(metricNames));
  const unknown = [...used].filter((n) => !recorded.has(n) && n !== 'up' && !exposed.has(n));
  assert.deepEqual(unknown, [], 'metric names used by dashboards and rules that no service exposes');

  // ---- probes: k8s manifests and compose health checks against the running services -------------------------------
  const grpcHealth = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  for (const role of ['gateway', 'aggregator', 'view'] as Role[]) {
    const deployment = parseYamlDocuments<{ kind: string; spec: { template: { spec: { containers: { readinessProbe: { httpGet?: { path: string }; grpc?: { port: number } }; livenessProbe: { httpGet: { path: string } } }[] } } } }>(
      readDeploy('k8s', `${role}.yaml`),
    ).find((o) => o.kind === 'Deployment')!;
    const c = deployment.spec.template.spec.containers[0]!;
    assert.equal((await fetch(url(role, c.livenessProbe.httpGet.path))).status, 200, `${role} liveness`);
    if (c.readinessProbe.httpGet !== undefined) assert.equal((await fetch(url(role, c.readinessProbe.httpGet.path))).status, 200, `${role} readiness`);
    if (c.readinessProbe.grpc !== undefined) {
      const client = new grpcHealth.grpc.health.v1.Health(`127.0.0.1:${ports[role].grpc}`, grpc.credentials.createInsecure());
      const status = await new Promise<string>((resolve, reject) =>
        (client as unknown as { check(req: object, cb: (e: Error | null, r?: { status: string }) => void): void }).check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r!.status))),
      );
      client.close();
      assert.equal(status, 'SERVING', `${role} gRPC health`);
    }
    const healthcheck = (compose.services[role] as unknown as { healthcheck: { test: string[] } }).healthcheck.test;
    assert.equal(healthcheck[0], 'CMD');
    const [cmd, ...hcArgs] = healthcheck.slice(1).map((a) => a.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${ports[role].http}`));
    const hc = await run(cmd === 'node' ? process.execPath : cmd!, hcArgs);
    assert.equal(hc.code, 0, `${role} compose health check: ${hc.stderr}`);
  }
});
