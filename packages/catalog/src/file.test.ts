import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CatalogInvalidError, CatalogReadError } from './index.js';
import { loadCatalogFile, loadSampleCatalog } from './file.js';

test('loadSampleCatalog reads the shipped SAMPLE file', async () => {
  const c = await loadSampleCatalog();
  assert.equal(c.sample, true);
  assert.ok(c.units.length >= 10);
  assert.ok(c.procedures.length >= 10);
});

test('a missing file is a read error, a bad file an invalid-catalog error naming the path', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'iocbus-catalog-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(loadCatalogFile(join(dir, 'absent.json')), (err: unknown) => err instanceof CatalogReadError && err.code === 'IOC_CATALOG_READ');
  const bad = join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ format: 'iocbus.catalog/v1', version: '1' }));
  await assert.rejects(loadCatalogFile(bad), (err: unknown) => err instanceof CatalogInvalidError && err.message.includes(bad));
});
