import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CodeIndex, codeHash } from './code-index.js';

const RUNS = Number(process.env.IOCBUS_PROPERTY_RUNS ?? 100);

/**
 * The index against a Map on random sequences of adds, look-ups and deletes. Few distinct codes and a tiny
 * starting table make long probe runs, wrap-around at the table's end, rehashes and deletions inside runs
 * (the backward shift) common; `hashBits` also forces whole-hash collisions by masking the hash, or puts
 * every home at the end of the table.
 */
test('CodeIndex agrees with a Map through any sequence of adds, look-ups and deletes', () => {
  const op = fc.tuple(fc.constantFrom('add', 'add', 'get', 'delete'), fc.integer({ min: 0, max: 300 }));
  fc.assert(
    fc.property(fc.array(op, { minLength: 50, maxLength: 600, size: 'max' }), fc.constantFrom(0, 3, 32, -1), (ops, hashBits) => {
      // -1: every home among the table's last four positions, so runs wrap around its end.
      const hash = (s: string): number => (hashBits === 32 ? codeHash(s) : hashBits === -1 ? codeHash(s) | ~3 : codeHash(s) & ((1 << hashBits) - 1));
      const index = new CodeIndex(1);
      const model = new Map<string, number>();
      const codes: (string | undefined)[] = [];
      const free: number[] = [];
      for (const [kind, n] of ops) {
        // Fresh string objects each time, as decoded events bring them.
        const code = `000.00.${n % 17}.H21-${String(n).padStart(7, '0')}`.slice(0);
        const expected = model.get(code) ?? -1;
        assert.equal(index.find(code, hash(code), codes), expected, `${kind} ${code}`);
        if (kind === 'add' && expected < 0) {
          const slot = free.pop() ?? codes.length;
          codes[slot] = code;
          index.insert(hash(code), slot);
          model.set(code, slot);
        } else if (kind === 'delete' && expected >= 0) {
          index.delete(hash(code), expected);
          codes[expected] = undefined;
          model.delete(code);
          free.push(expected);
        }
        assert.equal(index.size, model.size);
      }
      for (const [code, slot] of model) assert.equal(index.find(code, hash(code), codes), slot);
    }),
    { numRuns: RUNS * 5 },
  );
});
