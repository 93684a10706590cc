import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeToken, encodeToken, historyHash, type ResumeToken } from './token.js';

const token: ResumeToken = { history: historyHash('kafka', 'iocbus.indicator-partials.v1', 12), filter: 0xdeadbeef, incomplete: false, minute: 29_034_567, issuedAtMs: 1_741_923_000_000, offsets: [0, 1, 127, 128, 2 ** 40, 2 ** 53 - 1] };

test('a token round-trips, is URL- and header-safe, and short', () => {
  const text = encodeToken(token);
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  assert.ok(text.length < 80, `${text.length} chars`);
  assert.deepEqual(decodeToken(text), token);
  assert.deepEqual(decodeToken(encodeToken({ ...token, incomplete: true, offsets: [] })), { ...token, incomplete: true, offsets: [] });
});

test('a truncated, altered or foreign token reads as invalid', () => {
  const text = encodeToken(token);
  assert.equal(decodeToken(text.slice(0, -2)), undefined);
  const flipped = text.slice(0, 10) + (text[10] === 'A' ? 'B' : 'A') + text.slice(11);
  assert.equal(decodeToken(flipped), undefined);
  assert.equal(decodeToken(''), undefined);
  assert.equal(decodeToken('id: 42'), undefined);
  assert.equal(decodeToken('x'.repeat(5000)), undefined);
});

test('the history hash tells topics, partition counts and history ids apart', () => {
  const h = historyHash('kafka', 't', 12);
  assert.notEqual(h, historyHash('kafka', 't', 6));
  assert.notEqual(h, historyHash('kafka', 'u', 12));
  assert.notEqual(h, historyHash('boot-2', 't', 12));
  assert.equal(h, historyHash('kafka', 't', 12));
});
