import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('logs object first with the service name and a constant message', () => {
  const out = capture();
  const log = createLogger({ service: 'gateway', destination: out.stream });
  log.info({ topic: 't', partition: 3 }, 'partition assigned');
  const [line] = out.lines();
  assert.equal(line?.service, 'gateway');
  assert.equal(line?.msg, 'partition assigned');
  assert.equal(line?.partition, 3);
  assert.match(String(line?.time), /^\d{4}-\d\d-\d\dT/);
});

test('redacts authorization headers and api keys wherever they are commonly placed', () => {
  const out = capture();
  const log = createLogger({ service: 'gateway', destination: out.stream });
  const secret = 'sk_live_do_not_log_me';
  log.warn({ req: { headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret } } }, 'a');
  log.warn({ headers: { authorization: `Bearer ${secret}` } }, 'b');
  log.warn({ apiKey: secret, client: { apiKey: secret, api_key: secret } }, 'c');
  log.child({ component: 'auth' }).error({ authorization: secret, config: { token: secret } }, 'd');
  const text = JSON.stringify(out.lines());
  assert.equal(out.lines().length, 4);
  assert.ok(!text.includes(secret), `secret leaked: ${text}`);
  assert.ok(text.includes('[redacted]'));
});

test('extra redaction paths and level are honoured', () => {
  const out = capture();
  const log = createLogger({ service: 's', level: 'warn', destination: out.stream, redact: ['dsn'] });
  log.info({ x: 1 }, 'dropped');
  log.warn({ dsn: 'postgres://u:p@h' }, 'kept');
  const lines = out.lines();
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.dsn, '[redacted]');
});
