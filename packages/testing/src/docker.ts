import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where a Docker-compatible engine could be listening, in the order testcontainers itself tries them. */
export function dockerEndpoints(env: NodeJS.ProcessEnv = process.env): Array<{ path: string } | { host: string; port: number }> {
  const fromEnv = env['DOCKER_HOST'];
  if (fromEnv) {
    if (fromEnv.startsWith('unix://')) return [{ path: fromEnv.slice('unix://'.length) }];
    if (fromEnv.startsWith('tcp://')) {
      const url = new URL(`http://${fromEnv.slice('tcp://'.length)}`);
      return [{ host: url.hostname, port: Number(url.port || 2375) }];
    }
    return [];
  }
  const candidates = ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock')];
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (runtimeDir) candidates.push(join(runtimeDir, 'docker.sock'), join(runtimeDir, 'podman/podman.sock'));
  return candidates.filter((path) => existsSync(path)).map((path) => ({ path }));
}

/**
 * True when a container engine answers `GET /_ping` within `timeoutMs`. A docker CLI on PATH proves nothing
 * (it may have no daemon behind it), and testcontainers' own discovery takes seconds to give up, so we ask first.
 */
export async function dockerAnswers(timeoutMs = 500, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  for (const endpoint of dockerEndpoints(env)) {
    if (await ping(endpoint, timeoutMs)) return true;
  }
  return false;
}

function ping(endpoint: { path: string } | { host: string; port: number }, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = '';
    const socket: Socket = connect(endpoint);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n\r\n')) done(/^HTTP\/1\.[01] 200/.test(reply));
    });
    socket.on('error', () => done(false));
    socket.on('end', () => done(/^HTTP\/1\.[01] 200/.test(reply)));
  });
}
