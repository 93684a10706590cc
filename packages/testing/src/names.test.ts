import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uniqueName } from './names.js';

test('uniqueName keeps the prefix, is a legal topic name, and never repeats', () => {
  const names = Array.from({ length: 1000 }, () => uniqueName('iocbus.test_topic'));
  assert.equal(new Set(names).size, names.length);
  for (const name of names) {
    assert.ok(name.startsWith('iocbus.test_topic-'));
    assert.match(name, /^[a-zA-Z0-9._-]{1,249}$/);
  }
});
