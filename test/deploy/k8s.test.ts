/**
 * deploy/k8s rendered by a real kustomize (`kubectl kustomize`), then the rendered objects held against the
 * code: each Deployment runs an existing CLI command with an environment its role's schema accepts (names
 * and values), declares the ports that configuration listens on, probes readiness on /readyz or gRPC health
 * at those ports and liveness on /healthz, requests resources, runs as the image's non-root user, and the
 * Services, PodDisruptionBudgets, ConfigMap and API-key Secret fit together. That the probe paths and the gRPC
 * health service answer on the running services is checked in live.test.ts.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { COMMANDS } from '../../services/cli/src/commands/index.js';
import { apiKeysFileSchema } from '../../services/gateway/src/config.js';
import { deployPath, parseYamlDocuments, readDeploy, roleConfig, run, type Role } from './support.js';

interface Probe {
  httpGet?: { path: string; port: number | string };
  grpc?: { port: number; service?: string };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    minAvailable?: number;
    maxUnavailable?: number;
    ports?: { name: string; port: number; targetPort: number | string }[];
    template?: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: Container[];
        volumes?: { name: string; secret?: { secretName: string }; emptyDir?: object }[];
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
      };
    };
  };
}

let objects: K8sObject[] = [];
const find = (kind: string, name: string): K8sObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);
const byKind = (kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);

before(async () => {
  const r = await run('kubectl', ['kustomize', deployPath('k8s')]);
  assert.equal(r.code, 0, r.stderr);
  objects = parseYamlDocuments<K8sObject>(r.stdout);
});

/** The environment a container gets: its ConfigMap(s) through envFrom, then its own env. */
function containerEnv(c: Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const cm = find('ConfigMap', from.configMapRef?.name ?? '');
    assert.ok(cm !== undefined, `ConfigMap ${from.configMapRef?.name} is rendered`);
    Object.assign(out, cm.data);
  }
  for (const e of c.env ?? []) out[e.name] = e.value ?? '';
  return out;
}

function portNumber(c: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const p = c.ports?.find((x) => x.name === port);
  assert.ok(p !== undefined, `container ${c.name} has a port named ${port}`);
  return p.containerPort;
}

test('kustomize renders the namespace, config, secret, three Deployments, Services and disruption budgets', () => {
  // Generated ConfigMaps and Secrets carry a content hash suffix, so a change rolls the pods that use them.
  const kinds = objects.map((o) => `${o.kind}/${o.kind === 'ConfigMap' || o.kind === 'Secret' ? o.metadata.name.replace(/-[a-z0-9]{10}$/, '') : o.metadata.name}`).sort();
  assert.deepEqual(kinds, [
    'ConfigMap/iocbus-config',
    'Deployment/iocbus-aggregator',
    'Deployment/iocbus-gateway',
    'Deployment/iocbus-view',
    'Namespace/iocbus',
    'PodDisruptionBudget/iocbus-aggregator',
    'PodDisruptionBudget/iocbus-gateway',
    'PodDisruptionBudget/iocbus-view',
    'Secret/iocbus-api-keys',
    'Service/iocbus-aggregator',
    'Service/iocbus-gateway',
    'Service/iocbus-view',
  ]);
  for (const o of objects) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'iocbus', `${o.kind}/${o.metadata.name}`);
});

for (const role of ['gateway', 'aggregator', 'view'] as Role[]) {
  test(`${role}: command, environment, ports and probes agree with the ${role}'s own configuration`, () => {
    const d = find('Deployment', `iocbus-${role}`);
    assert.ok(d !== undefined);
    const pod = d.spec!.template!.spec;
    const [c] = pod.containers;
    assert.ok(c !== undefined && pod.containers.length === 1);
    assert.match(c.image, /^iocbus:/);
    assert.equal(c.args?.[0], role);
    assert.ok(COMMANDS.some((x) => x.name === role), `iocbus ${role} exists`);

    const config = roleConfig(role, containerEnv(c));
    assert.deepEqual(config.problems, [], `${role}: ${config.problems.join('; ')}`);
    const ports = config.ports!;
    const declared = (c.ports ?? []).map((p) => p.containerPort).sort();
    assert.deepEqual(declared, [ports.http, ...(ports.grpc === undefined ? [] : [ports.grpc])].sort());

    // Readiness: gRPC health on the gRPC port where the role serves gRPC, else /readyz on its HTTP port.
    const ready = c.readinessProbe!;
    if (ports.grpc !== undefined) assert.equal(ready.grpc?.port, ports.grpc);
    else {
      assert.equal(ready.httpGet?.path, '/readyz');
      assert.equal(portNumber(c, ready.httpGet!.port), ports.http);
    }
    for (const probe of [c.livenessProbe!, c.startupProbe!]) {
      assert.equal(probe.httpGet?.path, '/healthz');
      assert.equal(portNumber(c, probe.httpGet!.port), ports.http);
    }

    assert.ok(c.resources?.requests?.cpu !== undefined && c.resources.requests.memory !== undefined, 'resource requests');
    assert.ok(c.resources?.limits?.memory !== undefined, 'memory limit');
    // The image's user (deploy/Dockerfile USER) and a read-only root with /tmp writable (tsx's cache).
    const user = /^USER (\d+):(\d+)$/m.exec(readDeploy('Dockerfile'));
    assert.equal(pod.securityContext?.runAsUser, Number(user?.[1]));
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
    assert.ok(tmp !== undefined && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir !== undefined, '/tmp is an emptyDir');

    // The Service selects these pods and forwards to the named container ports.
    const svc = find('Service', `iocbus-${role}`)!;
    for (const [k, v] of Object.entries(svc.spec!.selector ?? {})) assert.equal(d.spec!.template!.metadata.labels[k], v, `Service selector ${k}`);
    for (const p of svc.spec!.ports!) assert.equal(p.port, portNumber(c, p.targetPort), `Service port ${p.name}`);

    const pdb = find('PodDisruptionBudget', `iocbus-${role}`)!;
    for (const [k, v] of Object.entries(pdb.spec!.selector!.matchLabels!)) assert.equal(d.spec!.template!.metadata.labels[k], v, `PDB selector ${k}`);
    assert.ok(pdb.spec!.minAvailable !== undefined || pdb.spec!.maxUnavailable !== undefined);
  });
}

test('the gateway reads its API keys from the mounted Secret, which holds a valid key file', () => {
  const d = find('Deployment', 'iocbus-gateway')!;
  const pod = d.spec!.template!.spec;
  const c = pod.containers[0]!;
  const keysFile = roleConfig('gateway', containerEnv(c)).keysFile!;
  const mount = c.volumeMounts!.find((m) => keysFile.startsWith(`${m.mountPath}/`));
  assert.ok(mount !== undefined, `a volume is mounted above ${keysFile}`);
  const secretName = pod.volumes!.find((v) => v.name === mount.name)?.secret?.secretName;
  const secret = find('Secret', secretName ?? '');
  assert.ok(secret !== undefined, `Secret ${secretName} is rendered`);
  const file = keysFile.slice(mount.mountPath.length + 1);
  const json = Buffer.from(secret.data![file]!, 'base64').toString('utf8');
  assert.ok(apiKeysFileSchema.safeParse(JSON.parse(json)).success, `${file} is a valid key file`);
});

test('aggregator replicas fit the events topic partitions the configuration creates it with', () => {
  const agg = find('Deployment', 'iocbus-aggregator')!;
  const cm = byKind('ConfigMap')[0]!.data!;
  const partitions = Number(cm.IOCBUS_AGGREGATOR__TOPICS__EVENTS_PARTITIONS);
  assert.equal(Number(cm.IOCBUS_GATEWAY__KAFKA__PARTITIONS), partitions, 'gateway and aggregator would create the topic alike');
  assert.ok(agg.spec!.replicas! >= 2 && agg.spec!.replicas! <= partitions);
});
