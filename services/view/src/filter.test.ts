import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ViewError } from './errors.js';
import { compileFilter, filterFromQuery } from './filter.js';

const value = (indicator: string, kind: 'day' | 'month' | 'now', scopeKind: 'province' | 'unit', code: string, current = true) => ({
  indicator,
  window: { kind, current },
  scope: { kind: scopeKind, code },
});

test('the HTTP query form: lists, repeats, today = day, scope with or without a key', () => {
  const f = filterFromQuery({ indicator: ['received,on_time_rate', 'qd766.score'], window: 'today,month', scope: ['province', 'unit:H21.17'], current: 'true' });
  assert.deepEqual(f, {
    indicators: ['received', 'on_time_rate', 'qd766.score'],
    windows: ['day', 'month'],
    scopes: [{ kind: 'province' }, { kind: 'unit', keys: ['H21.17'] }],
    currentOnly: true,
  });
  const c = compileFilter(f);
  assert.ok(c.matches(value('received', 'day', 'unit', 'H21.17')));
  assert.ok(c.matches(value('received', 'month', 'province', 'H21')));
  assert.ok(!c.matches(value('received', 'day', 'unit', 'H21.18')), 'other unit');
  assert.ok(!c.matches(value('resolved', 'day', 'province', 'H21')), 'other indicator');
  assert.ok(!c.matches(value('received', 'now', 'province', 'H21')), 'other window');
  assert.ok(!c.matches(value('received', 'day', 'province', 'H21', false)), 'not current');
  assert.ok(c.matchesKey(value('received', 'day', 'province', 'H21', false)), 'removals ignore current');
});

test('equal filters written differently share one canonical form and hash', () => {
  const a = compileFilter({ indicators: ['received', 'resolved'], scopes: [{ kind: 'unit', keys: ['B', 'A'] }] });
  const b = compileFilter({ indicators: ['resolved', 'received', 'received'], scopes: [{ kind: 'unit', keys: ['A'] }, { kind: 'unit', keys: ['B'] }] });
  assert.equal(a.canonical, b.canonical);
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, compileFilter({}).hash);
  const all = compileFilter({ scopes: [{ kind: 'unit', keys: ['A'] }, { kind: 'unit' }] });
  assert.ok(all.matches(value('received', 'day', 'unit', 'Z')), 'a kind without keys takes every key');
});

test('unknown names are refused with every problem listed', () => {
  assert.throws(
    () => compileFilter(filterFromQuery({ indicator: 'nope' })),
    (e: unknown) => e instanceof ViewError && e.code === 'IOC_VIEW_INVALID_FILTER' && e.message.includes('"nope"'),
  );
  assert.throws(
    () => filterFromQuery({ window: 'week', scope: 'district', current: 'maybe' }),
    (e: unknown) => e instanceof ViewError && /week/.test(e.message) && /district/.test(e.message) && /maybe/.test(e.message),
  );
});
