import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CatalogInvalidError, parseCatalog, parseCatalogText } from './index.js';
import { SAMPLE_CATALOG_PATH } from './file.js';

function sampleJson(): Record<string, unknown> & { units: Record<string, unknown>[]; procedures: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(SAMPLE_CATALOG_PATH, 'utf8'));
}

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CatalogInvalidError, `expected CatalogInvalidError, got ${String(err)}`);
    assert.equal(err.code, 'IOC_CATALOG_INVALID');
    assert.equal(err.retriable, false);
    return [...err.problems];
  }
  assert.fail('expected the catalog to be rejected');
}

test('the sample catalog parses and answers look-ups by code', () => {
  const c = parseCatalog(sampleJson());
  assert.equal(c.sample, true);
  assert.equal(c.province.code, 'H21');
  assert.equal(c.unit('H21.17')?.group, 'department');
  assert.equal(c.unit('H21.227')?.group, 'commune');
  assert.equal(c.unit('H21.227')?.district, 'Huyện Tây Giang (cũ)');
  assert.equal(c.procedure('1.004227')?.sectorCode, 'G16-NN05');
  assert.equal(c.procedure('1.004227')?.paperResultRequired, true);
  assert.equal(c.sector('G09-TP01')?.name, 'Hộ tịch');
  assert.equal(c.unit('H99.1'), undefined);
});

test('every schema problem is reported at once with its JSON path', () => {
  const doc = sampleJson();
  doc.units[0] = { ...doc.units[0], group: 'district' };
  doc.procedures[1] = { ...doc.procedures[1], fee: -5, onlineLevel: 'maybe' };
  const problems = problemsOf(() => parseCatalog(doc, 'test.json'));
  const paths = problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ['$.procedures[1].fee', '$.procedures[1].onlineLevel', '$.units[0].group']);
});

test('duplicate codes, unknown parents, parent cycles and unknown sectors are refused', () => {
  const doc = sampleJson();
  doc.units.push({ code: 'H21.17', name: 'Dup', group: 'department', parent: 'H21' });
  doc.units.push({ code: 'X.1', name: 'Orphan', group: 'commune', parent: 'X.404' });
  doc.units.push({ code: 'C.1', name: 'Cycle A', group: 'commune', parent: 'C.2' });
  doc.units.push({ code: 'C.2', name: 'Cycle B', group: 'commune', parent: 'C.1' });
  doc.procedures.push({ ...doc.procedures[0], sectorCode: 'NOPE' });
  const messages = problemsOf(() => parseCatalog(doc)).map((p) => `${p.path} ${p.message}`);
  assert.ok(messages.some((m) => m.includes('duplicate unit code H21.17')), messages.join('\n'));
  assert.ok(messages.some((m) => m.includes('parent X.404 is neither')), messages.join('\n'));
  assert.ok(messages.some((m) => m.includes('cycle')), messages.join('\n'));
  assert.ok(messages.some((m) => m.includes('duplicate procedure code')), messages.join('\n'));
  assert.ok(messages.some((m) => m.includes('sector NOPE is not listed')), messages.join('\n'));
});

test('a newer file format or a non-JSON text is refused, not guessed at', () => {
  const doc = sampleJson();
  doc.format = 'iocbus.catalog/v2';
  assert.equal(problemsOf(() => parseCatalog(doc))[0]?.path, '$.format');
  assert.match(problemsOf(() => parseCatalogText('{ not json'))[0]?.message ?? '', /not valid JSON/);
});
