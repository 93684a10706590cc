import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toConsumed, toHeaders } from './records.js';

test('consumed headers keep a __proto__ header as data and a plain prototype', () => {
  const headers = toHeaders({ ['__proto__']: Buffer.from('x'), ce_id: [Buffer.from('a'), Buffer.from('b')], gone: undefined });
  assert.equal(Object.getPrototypeOf(headers), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, 'x');
  assert.equal(headers.ce_id, 'b', 'the last of a repeated header wins');
  assert.equal('gone' in headers, false);
});

test('a tombstone and a null key read as empty; offsets and timestamps carry over', () => {
  const record = toConsumed(
    { key: null, value: null, headers: {}, offset: '42', timestamp: '1795769250700', attributes: 0 },
    't',
    3,
  );
  assert.deepEqual(record, { topic: 't', partition: 3, offset: '42', key: '', value: Buffer.alloc(0), headers: {}, timestamp: 1795769250700 });
});
