import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './wait.js';

test('waitFor returns the first truthy value', async () => {
  let calls = 0;
  const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
  assert.deepEqual(value, { calls: 3 });
});

test('waitFor keeps polling while fn throws, so assertions can be awaited', async () => {
  let calls = 0;
  await waitFor(
    () => {
      calls += 1;
      assert.ok(calls >= 4, 'not yet');
      return true;
    },
    { intervalMs: 1 },
  );
  assert.equal(calls, 4);
});

test('waitFor times out naming what it waited for and the last error', async () => {
  const started = Date.now();
  await assert.rejects(
    waitFor(
      () => {
        throw new Error('offset still 3');
      },
      { timeoutMs: 120, intervalMs: 10, message: 'the committed offset to reach 5' },
    ),
    (error: Error & { code?: string; cause?: unknown }) => {
      assert.equal(error.code, 'IOC_TESTING_WAIT_TIMEOUT');
      assert.match(error.message, /the committed offset to reach 5/);
      assert.match(error.message, /offset still 3/);
      assert.ok(error.cause instanceof Error);
      return true;
    },
  );
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 110 && elapsed < 2_000, `elapsed ${elapsed} ms`);
});

test('waitFor awaits async functions and reports a falsy last value', async () => {
  await assert.rejects(waitFor(async () => 0, { timeoutMs: 30, intervalMs: 5 }), /last value: 0/);
});
