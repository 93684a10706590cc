import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ApiKeyStore, bearerToken, generateApiKey, parseKeyHash } from './api-keys.js';

test('a generated sha256 key authenticates; a wrong secret, unknown id or malformed token does not', async () => {
  const { key, hash } = await generateApiKey('igate-h21-17');
  assert.match(key, /^igate-h21-17\.[A-Za-z0-9_-]{43}$/);
  assert.ok(!hash.includes(key.split('.')[1] as string), 'the stored hash must not contain the secret');
  const store = new ApiKeyStore([{ id: 'igate-h21-17', hash, sources: ['/agencies/H21.17/igate'], units: ['H21.17'] }]);
  const principal = await store.authenticate(key);
  assert.equal(principal?.keyId, 'igate-h21-17');
  assert.equal(await store.authenticate(`${key}x`), undefined);
  assert.equal(await store.authenticate(`other.${key.split('.')[1]}`), undefined);
  assert.equal(await store.authenticate('nodot'), undefined);
  assert.equal(await store.authenticate(''), undefined);
  assert.equal(await store.authenticate(undefined), undefined);
});

test('scrypt hashes verify too', async () => {
  const { key, hash } = await generateApiKey('slow', 'scrypt');
  assert.match(hash, /^scrypt:16384:8:1:/);
  const store = new ApiKeyStore([{ id: 'slow', hash, sources: ['*'], units: ['*'] }]);
  assert.equal((await store.authenticate(key))?.keyId, 'slow');
  assert.equal((await store.authenticate(key))?.keyId, 'slow');
  assert.equal(await store.authenticate('slow.wrong'), undefined);
});

test('sources and units match exactly or by a trailing-* prefix', async () => {
  const { key, hash } = await generateApiKey('k');
  const store = new ApiKeyStore([{ id: 'k', hash, sources: ['/agencies/H21.17/igate', '/agencies/H21.2*'], units: ['H21.17'] }]);
  const p = await store.authenticate(key);
  assert.ok(p);
  assert.equal(p.mayPublishSource('/agencies/H21.17/igate'), true);
  assert.equal(p.mayPublishSource('/agencies/H21.227/igate'), true);
  assert.equal(p.mayPublishSource('/agencies/H21.18/igate'), false);
  assert.equal(p.mayPublishUnit('H21.17'), true);
  assert.equal(p.mayPublishUnit('H21.170'), false);
});

test('answers do not depend on what was asked before (the last answer is kept)', async () => {
  const { key, hash } = await generateApiKey('k');
  const store = new ApiKeyStore([{ id: 'k', hash, sources: ['/agencies/H21.17/igate', '/agencies/H21.2*'], units: ['H21.17'] }]);
  const p = await store.authenticate(key);
  assert.ok(p);
  const values = ['/agencies/H21.17/igate', '/agencies/H21.18/igate', '/agencies/H21.227/igate', '/agencies/H21.2', '', '/agencies/H21.17/igat'];
  const expected = [true, false, true, true, false, false];
  fc.assert(
    fc.property(fc.array(fc.nat(values.length - 1), { maxLength: 30 }), (picks) => {
      // Fresh copies, as parsed from each event: equal strings, never the same object.
      for (const i of picks) assert.equal(p.mayPublishSource(`${values[i] as string}`.split('').join('')), expected[i], values[i]);
    }),
  );
});

test('bearer tokens are read from the Authorization header only in Bearer form', () => {
  assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
  assert.equal(bearerToken('bearer   abc.def '), 'abc.def');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('malformed stored hashes are described, not thrown', () => {
  assert.match(String(parseKeyHash('md5:x:y')), /hash must be/);
  assert.match(String(parseKeyHash('sha256:AAAA:AAAA')), /salt must be at least 8 bytes/);
  assert.throws(() => new ApiKeyStore([{ id: 'x', hash: 'nope', sources: ['*'], units: ['*'] }]), /api key x/);
});
