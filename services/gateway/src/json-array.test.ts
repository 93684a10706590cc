import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { arbitraryEvent } from '@iocbus/events/arbitraries';
import { toCloudEventJson } from '@iocbus/events';
import { parseJsonChunks } from './json-array.js';

/** What fastify's string body and JSON.parse give: the value, or the error message. */
function reference(bytes: Buffer): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(bytes.toString('utf8')) };
  } catch (err) {
    return { error: String(err) };
  }
}

function actual(chunks: Buffer[]): { value: unknown } | { error: string } {
  try {
    return { value: parseJsonChunks(chunks) };
  } catch (err) {
    return { error: String(err) };
  }
}

/** The bytes cut at the given points (anywhere, inside multi-byte characters too). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of at) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const spacing = fc.constantFrom(undefined, 0, 1, 2, '\t', ' \r\n');
const json = fc.oneof(
  fc.array(arbitraryEvent().map(toCloudEventJson), { maxLength: 6 }),
  fc.array(fc.jsonValue(), { maxLength: 8 }),
  fc.jsonValue(),
  fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 6 }),
);
const body = fc
  .tuple(json, spacing, fc.constantFrom('', ' ', '\n', '\t \r\n'), fc.constantFrom('', ' ', '\n'))
  .map(([value, space, before, after]) => Buffer.from(`${before}${JSON.stringify(value, null, space)}${after}`));

/** Damage: a byte changed, inserted or removed, often a structural one, or invalid UTF-8. */
const damage = fc.tuple(
  fc.nat(),
  fc.constantFrom('replace', 'insert', 'remove'),
  fc.constantFrom(0x22, 0x5c, 0x2c, 0x5b, 0x5d, 0x7b, 0x7d, 0x3a, 0x20, 0x31, 0x74, 0xff, 0xc3, 0xe2, 0x80, 0x00),
);
function damaged(bytes: Buffer, [at, kind, byte]: [number, string, number]): Buffer {
  const i = bytes.length === 0 ? 0 : at % bytes.length;
  if (kind === 'insert') return Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
  if (kind === 'remove') return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
  const copy = Buffer.from(bytes);
  if (copy.length > 0) copy[i] = byte;
  return copy;
}

test('valid bodies in any chunking parse exactly as JSON.parse of the whole', () => {
  fc.assert(
    fc.property(body, fc.array(fc.nat(), { maxLength: 8 }), (bytes, points) => {
      assert.deepStrictEqual(actual(cut(bytes, points)), reference(bytes));
    }),
    { numRuns: 3000 },
  );
});

test('damaged bodies give JSON.parse’s value or JSON.parse’s error', () => {
  fc.assert(
    fc.property(body, fc.array(damage, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, damages, points) => {
      const broken = damages.reduce(damaged, bytes);
      assert.deepStrictEqual(actual(cut(broken, points)), reference(broken));
    }),
    { numRuns: 5000 },
  );
});

test('the corners', () => {
  const cases = ['[]', ' [ ] ', '[1]', '[1,2]', '[1 ,2 ]', '["a\\"b", "\\\\"]', '[[1,[2]],{"a":[]}]', '[null,true,false,-1.5e3]', '[', ']', '[1,]', '[,1]', '[1 2]', '[]]', '[] x', '{"a":1}', '"s"', '', '\ufeff[]', '[1]\u0000', '["\\ud800"]', '[{"__proto__":{"x":1}}]', '[1e]', '[01]', '["\u0001"]'];
  for (const text of cases) {
    const bytes = Buffer.from(text);
    for (let split = 0; split <= bytes.length; split++) {
      assert.deepStrictEqual(actual([bytes.subarray(0, split), bytes.subarray(split)]), reference(bytes), `${JSON.stringify(text)} split at ${split}`);
    }
  }
});

test('a batch body is parsed element by element, never as one string', () => {
  // Quotes and backslashes inside strings, CRLF and tabs between tokens: all on the fast path.
  const events = fc
    .sample(arbitraryEvent(), { numRuns: 50, seed: 3 })
    .map((e, i) => ({ ...toCloudEventJson(e), id: `say \"hi\" \\ ${i}`, note: ['\\', '"', '}]'] }));
  const bytes = Buffer.from(JSON.stringify(events, null, '\t').replace(/\n/g, '\r\n'));
  const realParse = JSON.parse;
  let longest = 0;
  JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    longest = Math.max(longest, text.length);
    return realParse(text, reviver);
  }) as typeof JSON.parse;
  try {
    assert.deepStrictEqual(parseJsonChunks(cut(bytes, [1000, 5000, 9000])), events);
  } finally {
    JSON.parse = realParse;
  }
  assert.ok(longest < bytes.length / 10, `the longest text parsed was ${longest} of ${bytes.length} bytes`);
});

/** Strings made of the bytes that fool a search for `},{`: the guesses must miss and fall back, not mislead. */
const tricky = fc.array(fc.constantFrom('},{', '}', '{', ',', '"', '\\', '[', ']', 'x', 'é'), { maxLength: 6 }).map((parts) => parts.join(''));
const trickyObject = fc.dictionary(tricky, fc.oneof(tricky, fc.array(fc.dictionary(tricky, tricky, { maxKeys: 2 }), { maxLength: 3 })), { maxKeys: 4 });

test('compact arrays of objects with `},{` inside strings and nested arrays parse exactly as JSON.parse of the whole', () => {
  fc.assert(
    fc.property(fc.array(trickyObject, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), (objects, points) => {
      const bytes = Buffer.from(JSON.stringify(objects));
      assert.deepStrictEqual(actual(cut(bytes, points)), reference(bytes));
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.array(trickyObject, { minLength: 1, maxLength: 12 }), fc.array(damage, { minLength: 1, maxLength: 2 }), fc.array(fc.nat(), { maxLength: 4 }), (objects, damages, points) => {
      const broken = damages.reduce(damaged, Buffer.from(JSON.stringify(objects)));
      assert.deepStrictEqual(actual(cut(broken, points)), reference(broken));
    }),
    { numRuns: 3000 },
  );
});

test('a compact batch is parsed a chunk at a time, not an element at a time', () => {
  const events = fc.sample(arbitraryEvent(), { numRuns: 300, seed: 5 }).map(toCloudEventJson);
  const bytes = Buffer.from(JSON.stringify(events));
  const realParse = JSON.parse;
  let calls = 0;
  JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    calls++;
    return realParse(text, reviver);
  }) as typeof JSON.parse;
  const chunks = cut(bytes, [bytes.length >> 2, bytes.length >> 1, (3 * bytes.length) >> 2]);
  try {
    assert.deepStrictEqual(parseJsonChunks(chunks), events);
  } finally {
    JSON.parse = realParse;
  }
  // Per chunk: one parse for its run of whole objects, a few for the objects cut by the chunk ends.
  assert.ok(calls <= 4 * chunks.length, `${calls} JSON.parse calls for ${events.length} events in ${chunks.length} chunks`);
});
