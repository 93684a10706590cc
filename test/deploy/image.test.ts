/**
 * deploy/Dockerfile read against the repository (no Docker engine here to build it): a multi-stage build that
 * installs the manifest of every production workspace, leaves the test-only one out (and no production
 * workspace depends on it), runs as a numeric non-root user, and starts the iocbus CLI through tsx, which
 * the CLI package ships as a production dependency, with each role's default ports exposed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, ROLES, readDeploy, roleConfig } from './support.js';

const dockerfile = readDeploy('Dockerfile');
const workspaces = ['packages', 'services'].flatMap((group) =>
  readdirSync(join(ROOT, group), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, group, d.name, 'package.json')))
    .map((d) => `${group}/${d.name}`),
);
const manifest = (ws: string) => JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string> };

test('multi-stage: production dependencies of every workspace but the test-only one', () => {
  const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\w+)$/gm)].map((m) => m[1]);
  assert.deepEqual(stages, ['deps', 'runtime']);
  assert.match(dockerfile, /^RUN npm ci --omit=dev /m);
  assert.match(dockerfile, /^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
  for (const ws of workspaces) {
    const copied = dockerfile.includes(`COPY ${ws}/package.json ${ws}/`);
    assert.equal(copied, ws !== 'packages/testing', `${ws}/package.json ${ws === 'packages/testing' ? 'left out' : 'copied'}`);
  }
  const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
  assert.ok(dockerignore.includes('packages/testing') && dockerignore.includes('**/node_modules'));
  for (const ws of workspaces) {
    assert.equal(manifest(ws).dependencies?.['@iocbus/testing'], undefined, `${ws} needs @iocbus/testing only in development`);
  }
});

test('runs the iocbus CLI through tsx as a numeric non-root user, role chosen by the command', () => {
  const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
  assert.ok(user !== null && Number(user[1]) > 0 && Number(user[2]) > 0, 'numeric non-root USER');
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  const main = entrypoint.at(-1)!;
  assert.ok(existsSync(join(ROOT, main)), `${main} exists`);
  assert.deepEqual(entrypoint.slice(-4), ['node', '--import', 'tsx', 'services/cli/src/main.ts']);
  assert.ok(manifest('services/cli').dependencies?.tsx !== undefined, 'tsx is a production dependency of @iocbus/cli');
  assert.deepEqual(JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!), ['start']);
  for (const dir of ['proto', 'packages', 'services']) assert.match(dockerfile, new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
});

test('exposes the default ports of every role', () => {
  const exposed = /^EXPOSE (.+)$/m.exec(dockerfile)![1]!.split(/\s+/).map(Number).sort((a, b) => a - b);
  const defaults = ROLES.flatMap((role) => {
    const { ports, problems } = roleConfig(role, { KAFKA_BROKERS: 'kafka:9092', IOCBUS_GATEWAY__AUTH__KEYS_FILE: '/k.json' });
    assert.deepEqual(problems, []);
    return [ports!.http, ...(ports!.grpc === undefined ? [] : [ports!.grpc])];
  });
  assert.deepEqual(exposed, defaults.sort((a, b) => a - b));
});
