/**
 * deploy/compose.yaml validated by a real compose implementation (Debian's docker-compose, which checks the
 * file against the compose schema without an engine), then held against the code: the commands exist in the
 * iocbus CLI, every environment variable is a setting the role's schema knows, the ports, health checks and
 * Prometheus targets agree with the roles' configured ports, the topics script matches the aggregator's
 * topic settings, the Kafka image is the version the tests run against, and the demo key opens the gateway.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KAFKA_VERSION } from '@iocbus/testing';
import { COMMANDS } from '../../services/cli/src/commands/index.js';
import { aggregatorConfigSchema } from '../../services/aggregator/src/config.js';
import { topicSpecs } from '../../services/aggregator/src/topics.js';
import { ApiKeyStore } from '../../services/gateway/src/api-keys.js';
import { apiKeysFileSchema } from '../../services/gateway/src/config.js';
import { deployPath, parseYaml, readDeploy, roleConfig, run, type Role } from './support.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | null>;
  ports?: (string | { target: number; published: number | string })[];
  expose?: (string | number)[];
  volumes?: (string | { source: string; target: string })[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
}

const rendered = new Map<string, Promise<Compose>>();

/** The file as docker-compose resolves it (anchors, paths, interpolation); each variant rendered once. */
function composeConfig(...extra: string[]): Promise<Compose> {
  const key = extra.join(' ');
  let out = rendered.get(key);
  if (out === undefined) {
    out = run('docker-compose', ['-f', deployPath('compose.yaml'), ...extra, 'config'], { cwd: deployPath() }).then((r) => {
      assert.equal(r.code, 0, r.stderr);
      return parseYaml<Compose>(r.stdout);
    });
    rendered.set(key, out);
  }
  return out;
}

const env = (s: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));

const portTargets = (s: ComposeService): number[] => [
  ...(s.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').at(-1)) : p.target)),
  ...(s.expose ?? []).map(Number),
];

test('docker-compose config validates the stack; the simulator is the only service behind a profile', async () => {
  const { services } = await composeConfig();
  assert.deepEqual(Object.keys(services).sort(), ['aggregator', 'gateway', 'grafana', 'kafka', 'prometheus', 'simulator', 'topics', 'view']);
  for (const [name, s] of Object.entries(services)) assert.deepEqual(s.profiles ?? [], name === 'simulator' ? ['simulator'] : [], name);
  const q = await run('docker-compose', ['-f', deployPath('compose.yaml'), 'config', '-q'], { cwd: deployPath() });
  assert.equal(q.code, 0, q.stderr);
});

test('every iocbus service runs an existing CLI command, after the topics exist, with settings its schema accepts', async () => {
  const { services } = await composeConfig('--profile', 'simulator');
  const commands = new Set(COMMANDS.map((c) => c.name));
  const kafkaListeners = String(services.kafka!.environment!.KAFKA_ADVERTISED_LISTENERS);
  for (const role of ['gateway', 'aggregator', 'view'] as Role[]) {
    const s = services[role]!;
    assert.equal(s.command?.[0], role);
    assert.ok(commands.has(role), `iocbus ${role} exists`);
    assert.equal((s.depends_on as Record<string, { condition: string }>).topics?.condition, 'service_completed_successfully');
    const c = roleConfig(role, env(s));
    assert.deepEqual(c.problems, [], `${role}: ${c.problems.join('; ')}`);
    for (const broker of c.brokers ?? []) assert.ok(kafkaListeners.includes(`PLAINTEXT://${broker}`), `${role} reaches Kafka's advertised ${broker}`);
    assert.ok(portTargets(s).includes(c.ports!.http), `${role} exposes HTTP ${c.ports!.http}`);
    if (c.ports!.grpc !== undefined) assert.ok(portTargets(s).includes(c.ports!.grpc), `${role} exposes gRPC ${c.ports!.grpc}`);
    // The health check asks the role's own HTTP port for /readyz.
    const check = s.healthcheck?.test.join(' ') ?? '';
    assert.ok(check.includes(`http://127.0.0.1:${c.ports!.http}/readyz`), `${role} health check: ${check}`);
  }
  const sim = services.simulator!;
  assert.ok(commands.has(sim.command![0]!), 'iocbus simulate exists');
  const gatewayHttp = roleConfig('gateway', env(services.gateway!)).ports!.http;
  assert.equal(env(sim).IOCBUS_GATEWAY_URL, `http://gateway:${gatewayHttp}`);
});

test('Prometheus scrapes each role on the port its configuration listens on', async () => {
  const { services } = await composeConfig();
  const prom = parseYaml<{ scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[] }>(readDeploy('prometheus', 'prometheus.yml'));
  for (const role of ['gateway', 'aggregator', 'view'] as Role[]) {
    const job = prom.scrape_configs.find((j) => j.job_name === `iocbus-${role}`);
    assert.ok(job !== undefined, `job iocbus-${role}`);
    assert.deepEqual(job.dns_sd_configs?.[0]?.names, [role]);
    assert.equal(job.dns_sd_configs?.[0]?.port, roleConfig(role, env(services[role]!)).ports!.http);
  }
  const mounts = services.prometheus!.volumes!.map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
  assert.ok(mounts.some((m) => m.includes(deployPath('prometheus')) && m.includes(':/etc/prometheus')), mounts.join(', '));
});

test('the topics script creates the four topics with the settings the aggregator would use', () => {
  const script = readDeploy('kafka', 'create-topics.sh');
  const defaults = aggregatorConfigSchema.parse({ kafka: { brokers: ['kafka:9092'] } });
  const specs = topicSpecs(defaults);
  assert.deepEqual(
    specs.map((s) => s.name),
    ['iocbus.dossier-events.v1', 'iocbus.aggregator-checkpoints.v1', 'iocbus.indicator-partials.v1', 'iocbus.dossier-events.dlq.v1'],
  );
  for (const spec of specs) {
    const line = script.split('\n').find((l) => l.startsWith(`create ${spec.name} `));
    assert.ok(line !== undefined, `creates ${spec.name}`);
    for (const [name, value] of Object.entries(spec.config ?? {})) {
      const inLine = line.includes(`${name}=`) || (line.includes('${COMPACTED[@]}') && script.includes(`--config ${name}=${value}`));
      assert.ok(inLine, `${spec.name}: ${name}`);
      if (name === 'max.message.bytes') assert.match(script, new RegExp(`CHECKPOINT_MAX_BYTES=\\$\\{CHECKPOINT_MAX_BYTES:-${value}\\}`));
    }
  }
});

test('Kafka runs the version the test suite runs against, and the topics service runs the script in it', async () => {
  const { services } = await composeConfig();
  assert.equal(services.kafka!.image, `apache/kafka:${KAFKA_VERSION}`);
  assert.equal(services.topics!.image, `apache/kafka:${KAFKA_VERSION}`);
  assert.equal((services.topics!.depends_on as Record<string, { condition: string }>).kafka?.condition, 'service_healthy');
  assert.match(services.kafka!.healthcheck!.test.join(' '), /kafka-broker-api-versions\.sh --bootstrap-server localhost:9092/);
  const mounted = services.topics!.volumes!.map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).join(' ');
  assert.ok(mounted.includes(`${deployPath('kafka', 'create-topics.sh')}:${services.topics!.entrypoint!.at(-1)}`), mounted);
});

test('the gateway reads the mounted demo key file, and the simulator\'s key opens it', async () => {
  const { services } = await composeConfig('--profile', 'simulator');
  const gw = services.gateway!;
  const keysFile = roleConfig('gateway', env(gw)).keysFile!;
  const mount = gw.volumes!.map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((m) => m.split(':')[1] === keysFile);
  assert.ok(mount !== undefined, `a volume is mounted at ${keysFile}`);
  const file = apiKeysFileSchema.parse(JSON.parse(readDeploy('compose', 'demo-keys.json')));
  const principal = await new ApiKeyStore(file.keys).authenticate(env(services.simulator!).IOCBUS_API_KEY);
  assert.ok(principal !== undefined, 'the demo key authenticates');
  assert.ok(principal.mayPublishSource('/agencies/H21.17/igate') && principal.mayPublishUnit('H21.227'));
});
