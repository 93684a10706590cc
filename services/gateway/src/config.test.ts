import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

const files: Record<string, string> = {
  '/etc/gw.json': JSON.stringify({ http: { port: 9000 }, batch: { lingerMs: 7 } }),
  '/etc/keys.json': JSON.stringify({
    keys: [{ id: 'a', hash: `sha256:${'A'.repeat(22)}:${'B'.repeat(43)}`, sources: ['/s'], units: ['U1'] }],
  }),
  '/etc/bad-keys.json': JSON.stringify({
    keys: [
      { id: 'a', hash: 'plain-text-key', sources: [], units: ['U1'] },
      { id: 'a', hash: `sha256:${'A'.repeat(22)}:${'B'.repeat(43)}`, sources: ['/s'], units: ['U1'] },
    ],
  }),
};
const readFile = (f: string): string => {
  const text = files[f];
  if (text === undefined) throw new Error(`ENOENT ${f}`);
  return text;
};

test('file, environment overrides and KAFKA_BROKERS combine over the defaults', () => {
  const { config, apiKeys } = loadConfig(
    {
      IOCBUS_GATEWAY_CONFIG: '/etc/gw.json',
      IOCBUS_GATEWAY__AUTH__KEYS_FILE: '/etc/keys.json',
      IOCBUS_GATEWAY__GRPC__STREAM_MAX_IN_FLIGHT: '64',
      IOCBUS_GATEWAY__KAFKA__PRODUCE_TIMEOUT_MS: '1500',
      IOCBUS_GATEWAY__BATCH__MAX_REQUEST_BYTES: '2000000',
      KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
    },
    readFile,
  );
  assert.equal(config.http.port, 9000);
  assert.equal(config.batch.lingerMs, 7);
  assert.equal(config.grpc.streamMaxInFlight, 64);
  assert.equal(config.kafka.produceTimeoutMs, 1500);
  assert.equal(config.batch.maxRequestBytes, 2_000_000);
  assert.equal(config.batch.maxBytes, 900_000);
  assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092', '127.0.0.1:9093']);
  assert.equal(config.kafka.topic, 'iocbus.dossier-events.v1');
  assert.equal(config.limits.maxBatchEvents, 1000);
  assert.equal(apiKeys[0]?.id, 'a');
});

test('every problem is reported at once, with where it is', () => {
  let error: unknown;
  try {
    loadConfig(
      {
        IOCBUS_GATEWAY__HTTP__PORT: 'eighty',
        IOCBUS_GATEWAY__BATCH__LINGER_MS: '-1',
        IOCBUS_GATEWAY__HTTP__NOPE: '1',
        IOCBUS_GATEWAY__AUTH__KEYS_FILE: '/etc/bad-keys.json',
      },
      readFile,
    );
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join('\n');
  assert.match(text, /IOCBUS_GATEWAY__HTTP__NOPE: not a known setting of http/);
  assert.match(text, /http\.port:/);
  assert.match(text, /batch\.lingerMs:/);
  assert.match(text, /kafka\.brokers: required: set KAFKA_BROKERS/);
  assert.match(text, /bad-keys\.json: keys\.0\.hash: hash must be/);
  assert.match(text, /bad-keys\.json: keys\.0\.sources:/);
  assert.match(text, /bad-keys\.json: keys\.1\.id: duplicate key id "a"/);
  assert.equal(error.problems.length, 7);
});

test('a missing key file and an unreadable config file are problems too', () => {
  assert.throws(
    () => loadConfig({ IOCBUS_GATEWAY_CONFIG: '/nope.json', KAFKA_BROKERS: 'h:1', IOCBUS_GATEWAY__AUTH__KEYS_FILE: '/x' }, readFile),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.length === 2 &&
      /IOCBUS_GATEWAY_CONFIG: cannot read \/nope\.json/.test(err.problems[0] ?? '') &&
      /auth\.keysFile: cannot read \/x/.test(err.problems[1] ?? ''),
  );
});

test('nested settings are reachable from the environment, and TLS files are read with the rest', () => {
  const env = {
    KAFKA_BROKERS: 'h:1',
    IOCBUS_GATEWAY__AUTH__KEYS_FILE: '/etc/keys.json',
    IOCBUS_GATEWAY__GRPC__TLS__CERT_FILE: '/tls/cert.pem',
    IOCBUS_GATEWAY__GRPC__TLS__KEY_FILE: '/tls/key.pem',
    IOCBUS_GATEWAY__GRPC__TLS__CLIENT_CA_FILE: '/tls/missing-ca.pem',
    IOCBUS_GATEWAY__LIMITS__RATE__BURST: '50',
  };
  const bytes = (f: string): Buffer => {
    if (f === '/tls/missing-ca.pem') throw new Error('ENOENT');
    return Buffer.from(f);
  };
  assert.throws(
    () => loadConfig(env, readFile, bytes),
    (err: unknown) => err instanceof ConfigError && err.problems.length === 1 && /grpc\.tls\.clientCaFile: cannot read/.test(err.problems[0] ?? ''),
  );
  const { config, grpcTls } = loadConfig({ ...env, IOCBUS_GATEWAY__GRPC__TLS__CLIENT_CA_FILE: '/tls/ca.pem' }, readFile, bytes);
  assert.equal(config.limits.rate.burst, 50);
  assert.equal(config.limits.rate.eventsPerSecond, 5000);
  assert.equal(grpcTls?.clientCa?.toString(), '/tls/ca.pem');
  assert.throws(() => loadConfig({ ...env, IOCBUS_GATEWAY__GRPC: 'x' }, readFile, bytes), /IOCBUS_GATEWAY__GRPC: grpc is a section/);
});
