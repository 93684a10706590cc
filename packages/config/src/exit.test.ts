import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadOrExit, type ExitIo } from './exit.js';

class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid svc configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function recordingIo(): ExitIo & { written: string[] } {
  const written: string[] = [];
  return {
    written,
    write: (text) => void written.push(text),
    exit: (code) => {
      throw new Exited(code);
    },
  };
}

test('a loaded configuration is returned and nothing is written', () => {
  const io = recordingIo();
  assert.deepEqual(loadOrExit(() => ({ port: 1 }), ConfigError, io), { port: 1 });
  assert.deepEqual(io.written, []);
});

test('a ConfigError prints every problem on stderr and exits with code 2', () => {
  const io = recordingIo();
  assert.throws(
    () =>
      loadOrExit(
        () => {
          throw new ConfigError(['http.port: bad', 'kafka.brokers: required']);
        },
        ConfigError,
        io,
      ),
    (err: unknown) => err instanceof Exited && err.code === 2,
  );
  assert.deepEqual(io.written, ['invalid svc configuration:\n  - http.port: bad\n  - kafka.brokers: required\n']);
});

test('any other error propagates untouched and nothing is written', () => {
  const io = recordingIo();
  const boom = new TypeError('boom');
  assert.throws(
    () =>
      loadOrExit(
        () => {
          throw boom;
        },
        ConfigError,
        io,
      ),
    (err: unknown) => err === boom,
  );
  assert.deepEqual(io.written, []);
});
