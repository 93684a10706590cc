import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const buf = join(repo, 'node_modules/.bin/buf');

/** Runs buf lint in `cwd`; `rules` are the violated rule ids (buf's JSON error format, one object a line). */
function lint(cwd: string): { status: number | null; out: string; rules: string[] } {
  const r = spawnSync(buf, ['lint', '--error-format', 'json'], { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  const rules = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { type: string }).type);
  return { status: r.status, out: `${r.stdout}${r.stderr}`, rules };
}

test('buf lint (STANDARD) passes on proto/', () => {
  const r = lint(repo);
  assert.deepEqual(r.rules, [], r.out);
  assert.equal(r.out.trim(), '', r.out);
  assert.equal(r.status, 0);
});

test('buf lint fails on a proto that breaks Buf style, naming each violation', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iocbus-buf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'buf.yaml'), 'version: v2\nmodules:\n  - path: proto\nlint:\n  use:\n    - STANDARD\n');
  mkdirSync(join(dir, 'proto/iocbus/bad/v1'), { recursive: true });
  writeFileSync(
    join(dir, 'proto/iocbus/bad/v1/BadFile.proto'),
    [
      'syntax = "proto3";',
      'package iocbus.bad.v1;',
      'enum Colour { RED = 0; }',
      'message Thing { string FieldName = 1; }',
      'service Things { rpc Get(Thing) returns (Thing); }',
      '',
    ].join('\n'),
  );
  const r = lint(dir);
  assert.notEqual(r.status, 0);
  for (const rule of ['FILE_LOWER_SNAKE_CASE', 'ENUM_ZERO_VALUE_SUFFIX', 'ENUM_VALUE_PREFIX', 'FIELD_LOWER_SNAKE_CASE', 'SERVICE_SUFFIX', 'RPC_REQUEST_STANDARD_NAME']) {
    assert.ok(r.rules.includes(rule), `${rule} not reported:\n${r.out}`);
  }
});
