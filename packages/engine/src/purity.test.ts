import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// DESIGN.md: the engine is pure TypeScript; I/O lives in adapters. Tests and test support may use node:*.
const FORBIDDEN = /from ['"](kafkajs|@grpc\/[^'"]+|pino|prom-client|fastify|node:(fs|http|https|net|http2|dgram|child_process|worker_threads)(\/[^'"]*)?|fs|http|https|net)['"]/;

test('engine sources import no I/O library', () => {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(sources.length > 10);
  for (const f of sources) {
    const text = readFileSync(join(dir, f), 'utf8');
    assert.doesNotMatch(text, FORBIDDEN, `${f} imports an I/O module`);
    if (f !== 'testkit.ts') assert.doesNotMatch(text, /from ['"]node:/, `${f} imports a node: module`);
  }
});
