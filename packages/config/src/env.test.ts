import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { configInputFromEnv } from './env.js';

const schema = z.object({
  kafka: z
    .object({ brokers: z.array(z.string()).min(1), clientId: z.string().default('svc') })
    .prefault({} as { brokers: string[] }),
  http: z.object({ port: z.coerce.number().default(80), bodyLimitBytes: z.coerce.number().default(1) }).prefault({}),
  grpc: z.object({ tls: z.object({ certFile: z.string() }).optional() }).prefault({}),
  shutdown: z.object({ timeoutMs: z.coerce.number().default(1) }).prefault({}),
});
const source = { prefix: 'IOCBUS_SVC', schema };

const files: Record<string, string> = {
  '/etc/svc.json': JSON.stringify({ http: { port: 9000, bodyLimitBytes: 5 }, kafka: { clientId: 'from-file' } }),
  '/etc/brokers.json': JSON.stringify({ kafka: { brokers: ['file:1'] } }),
  '/etc/array.json': '[1, 2]',
  '/etc/broken.json': '{ nope',
};
const readFile = (f: string): string => {
  const text = files[f];
  if (text === undefined) throw new Error(`ENOENT ${f}`);
  return text;
};

test('the file is read first, environment overrides win over it, KAFKA_BROKERS fills kafka.brokers', () => {
  const problems: string[] = [];
  const input = configInputFromEnv(
    source,
    {
      IOCBUS_SVC_CONFIG: '/etc/svc.json',
      IOCBUS_SVC__HTTP__PORT: '8080',
      IOCBUS_SVC__HTTP__BODY_LIMIT_BYTES: '2048',
      IOCBUS_SVC__GRPC__TLS__CERT_FILE: '/c.pem',
      KAFKA_BROKERS: 'a:1, b:2,',
      UNRELATED: 'x',
    },
    readFile,
    problems,
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(input, {
    http: { port: '8080', bodyLimitBytes: '2048' },
    kafka: { clientId: 'from-file', brokers: ['a:1', 'b:2'] },
    grpc: { tls: { certFile: '/c.pem' } },
  });
});

test('brokers set in the file or by the service variable take precedence over KAFKA_BROKERS', () => {
  const fromFile: string[] = [];
  assert.deepEqual(configInputFromEnv(source, { IOCBUS_SVC_CONFIG: '/etc/brokers.json', KAFKA_BROKERS: 'k:1' }, readFile, fromFile), {
    kafka: { brokers: ['file:1'] },
  });
  const fromVariable: string[] = [];
  assert.deepEqual(
    configInputFromEnv(source, { IOCBUS_SVC_CONFIG: '/etc/brokers.json', IOCBUS_SVC__KAFKA__BROKERS: 'v:1,v:2', KAFKA_BROKERS: 'k:1' }, readFile, fromVariable),
    { kafka: { brokers: ['v:1', 'v:2'] } },
  );
  assert.deepEqual([...fromFile, ...fromVariable], []);
});

test('list fields are a parameter; other values stay strings for the schema to coerce', () => {
  const problems: string[] = [];
  const input = configInputFromEnv({ ...source, listFields: [] }, { IOCBUS_SVC__KAFKA__BROKERS: 'a:1,b:2' }, readFile, problems);
  assert.deepEqual(input, { kafka: { brokers: 'a:1,b:2' } });
  assert.deepEqual(problems, []);
});

test('unknown settings and sections are reported with where they were looked for', () => {
  const problems: string[] = [];
  const input = configInputFromEnv(source, { IOCBUS_SVC__NOPE: '1', IOCBUS_SVC__HTTP__NOPE: '1', IOCBUS_SVC__GRPC__TLS__NOPE: '1' }, readFile, problems);
  assert.deepEqual(problems.sort(), [
    'IOCBUS_SVC__GRPC__TLS__NOPE: not a known setting of grpc.tls (IOCBUS_SVC__<SECTION>__<FIELD>)',
    'IOCBUS_SVC__HTTP__NOPE: not a known setting of http (IOCBUS_SVC__<SECTION>__<FIELD>)',
    'IOCBUS_SVC__NOPE: not a known setting (IOCBUS_SVC__<SECTION>__<FIELD>)',
  ]);
  assert.deepEqual(input, { http: {}, grpc: { tls: {} } });
});

test('a section set as a value and a value used as a section are problems', () => {
  const problems: string[] = [];
  const input = configInputFromEnv(source, { IOCBUS_SVC__HTTP: '1', IOCBUS_SVC__HTTP__PORT__X: '1', IOCBUS_SVC__GRPC__TLS: 'x' }, readFile, problems);
  assert.deepEqual(problems.sort(), [
    'IOCBUS_SVC__GRPC__TLS: grpc.tls is a section, not a setting',
    'IOCBUS_SVC__HTTP: http is a section, not a setting',
    'IOCBUS_SVC__HTTP__PORT__X: http.port has no settings below it',
  ]);
  assert.equal((input.http as Record<string, unknown>).port, undefined);
});

test('an unreadable, unparsable or non-object file is a problem and contributes nothing', () => {
  for (const [file, message] of [
    ['/missing.json', /^IOCBUS_SVC_CONFIG: cannot read \/missing\.json: ENOENT/],
    ['/etc/broken.json', /^IOCBUS_SVC_CONFIG: cannot read \/etc\/broken\.json: .*JSON/],
    ['/etc/array.json', /^IOCBUS_SVC_CONFIG: \/etc\/array\.json must hold a JSON object$/],
  ] as const) {
    const problems: string[] = [];
    const input = configInputFromEnv(source, { IOCBUS_SVC_CONFIG: file, IOCBUS_SVC__SHUTDOWN__TIMEOUT_MS: '5' }, readFile, problems);
    assert.equal(problems.length, 1, file);
    assert.match(problems[0] ?? '', message);
    assert.deepEqual(input, { shutdown: { timeoutMs: '5' } });
  }
});

test('the file variable can be named explicitly; an empty one is ignored', () => {
  const problems: string[] = [];
  const input = configInputFromEnv({ ...source, fileVariable: 'SVC_FILE' }, { SVC_FILE: '/etc/svc.json', IOCBUS_SVC_CONFIG: '/missing.json' }, readFile, problems);
  assert.deepEqual(problems, []);
  assert.equal((input.http as Record<string, unknown>).port, 9000);
  assert.deepEqual(configInputFromEnv(source, { IOCBUS_SVC_CONFIG: '', KAFKA_BROKERS: '' }, readFile, problems), {});
  assert.deepEqual(problems, []);
});
