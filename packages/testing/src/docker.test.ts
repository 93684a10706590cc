import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dockerAnswers, dockerEndpoints } from './docker.js';

async function fakeEngine(t: { after(fn: () => unknown): void }, reply: string | null): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'iocbus-docker-'));
  const path = join(dir, 'docker.sock');
  const server: Server = createServer((socket) => {
    socket.once('data', () => {
      if (reply !== null) socket.end(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return path;
}

test('an engine answering /_ping with 200 counts as Docker', async (t) => {
  const path = await fakeEngine(t, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK');
  assert.equal(await dockerAnswers(500, { DOCKER_HOST: `unix://${path}` }), true);
});

test('a socket that accepts but never answers is not Docker, and is given up on quickly', async (t) => {
  const path = await fakeEngine(t, null);
  const started = Date.now();
  assert.equal(await dockerAnswers(200, { DOCKER_HOST: `unix://${path}` }), false);
  assert.ok(Date.now() - started < 1_000);
});

test('an error status or a missing socket is not Docker', async (t) => {
  const path = await fakeEngine(t, 'HTTP/1.1 500 Internal Server Error\r\n\r\n');
  assert.equal(await dockerAnswers(500, { DOCKER_HOST: `unix://${path}` }), false);
  assert.equal(await dockerAnswers(500, { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }), false);
});

test('DOCKER_HOST decides the endpoint; tcp hosts default to port 2375', () => {
  assert.deepEqual(dockerEndpoints({ DOCKER_HOST: 'tcp://10.0.0.5' }), [{ host: '10.0.0.5', port: 2375 }]);
  assert.deepEqual(dockerEndpoints({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }), [{ path: '/run/user/1000/docker.sock' }]);
  assert.deepEqual(dockerEndpoints({ DOCKER_HOST: 'ssh://host' }), []);
});
