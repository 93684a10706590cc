import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { arbitraryEvent } from './arbitraries.js';
import { REJECT, acceptOf } from './fast-accept.js';
import { EVENT_TYPES } from './names.js';
import { toCloudEventJson, validateCandidate } from './parse.js';
import { DATA_SCHEMAS, componentSchema, envelopeSchema, extensionValueSchema } from './schemas.js';

/** Order-sensitive, undefined-preserving form of a value: the fast path must build what zod builds. */
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return ['array', v.map(shapeOf)];
  if (typeof v === 'object' && v !== null) return ['object', Object.keys(v).map((k) => [k, shapeOf((v as Record<string, unknown>)[k])])];
  if (typeof v === 'number' && Object.is(v, -0)) return ['-0'];
  return [typeof v, v];
}

type Shape = Record<string, { _zod: { def: { type: string; innerType?: unknown } } }>;
const shapeEntries = (schema: unknown) => Object.entries((schema as { shape: Shape }).shape);

test('the envelope, every data schema, the component and extension values have a fast path', () => {
  assert.notEqual(acceptOf(envelopeSchema), undefined);
  assert.notEqual(acceptOf(componentSchema), undefined);
  assert.notEqual(acceptOf(extensionValueSchema), undefined);
  for (const t of EVENT_TYPES) assert.notEqual(acceptOf(DATA_SCHEMAS[t]), undefined, t);
});

// Values near every field's edges: lengths 100/101, 4000/4001, 2048/2049, blank text, control and space
// characters, lone surrogates, numbers at 0/-0/fractions/limits/non-finite, wrong types, nulls, lists.
const awkwardString = fc.oneof(
  fc.constantFrom('', ' ', '\t', 'a b', 'x\u0000', 'x\u0085', 'x\u00a0y', '\ud800', 'a\udc00', '\ud83d\ude00', '2025-07-01T08:30:00', '2025-02-30T08:30:00Z'),
  fc.constantFrom('2025-07-01T08:30:00+07:00', '2025-07-01t08:30:00.123456789z', 'https://x.example/a?b=c#d', 'http://', 'urn:x', '/agencies/H21/igate'),
  fc.constantFrom('online', 'ONLINE', 'citizen', 'national_portal', 'satisfied', 'electronic', 'vn.gov.tthc.dossier.received', '1.0', '1.00'),
  fc.integer({ min: 95, max: 105 }).map((n) => 'c'.repeat(n)),
  fc.constantFrom(3999, 4000, 4001, 4096, 4097, 2047, 2048, 2049).map((n) => `https://e.example/${'p'.repeat(n - 18)}`),
  fc.constantFrom(3999, 4000, 4001).map((n) => 'w '.repeat(n).slice(0, n)),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const awkwardNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, 1e6, 1e6 + 1, 1_000_000.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.MIN_VALUE, NaN, Infinity, -Infinity),
  fc.double(),
  fc.integer(),
);
const leafValue: fc.Arbitrary<unknown> = fc.oneof(awkwardString, awkwardNumber, fc.boolean(), fc.constantFrom(null, undefined, {}, [], [''], ['c']));
const componentValue = fc.dictionary(fc.constantFrom('code', 'digitized', 'reused', 'fromPersonalStore', 'other', '__proto__'), leafValue, { maxKeys: 5 });
const awkwardValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: leafValue },
  { weight: 1, arbitrary: fc.array(leafValue, { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.array(componentValue, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 500, 501).map((n) => Array.from({ length: n }, () => 'c')) },
);

test('property: each field accepts only what its zod schema accepts, with zod output', () => {
  const fields = [...new Set(EVENT_TYPES.flatMap((t) => shapeEntries(DATA_SCHEMAS[t]).map(([, s]) => s)))];
  fields.push(...shapeEntries(envelopeSchema).map(([, s]) => s), ...shapeEntries(componentSchema).map(([, s]) => s), extensionValueSchema as never);
  fc.assert(
    fc.property(fc.constantFrom(...fields), awkwardValue, (schema, v) => {
      const def = schema._zod.def;
      const inner = (def.type === 'optional' ? def.innerType : schema) as object;
      const accept = acceptOf(inner);
      assert.notEqual(accept, undefined);
      const fast = accept?.(v);
      if (fast === REJECT) return;
      const z = (inner as { safeParse(x: unknown): { success: boolean; data?: unknown } }).safeParse(v);
      assert.ok(z.success, `fast path accepted ${JSON.stringify(v)}, zod did not`);
      assert.deepEqual(shapeOf(fast), shapeOf(z.data));
    }),
    { numRuns: 20_000 },
  );
});

const same = (input: unknown, jsonContentType: boolean): void => {
  const fast = validateCandidate(input, { jsonContentType });
  const zod = validateCandidate(input, { jsonContentType, fastPath: false });
  assert.deepEqual(shapeOf(fast), shapeOf(zod));
};

test('property: validateCandidate with the fast path answers exactly as zod alone, on valid events', () => {
  fc.assert(
    fc.property(arbitraryEvent(), fc.boolean(), (e, jsonEdge) => {
      const json = JSON.parse(JSON.stringify(toCloudEventJson(e))) as Record<string, unknown>;
      same(json, jsonEdge);
      const r = validateCandidate(json, { jsonContentType: jsonEdge });
      assert.ok(r.ok);
    }),
    { numRuns: 2000 },
  );
});

test('property: … and on events with one member replaced, added or removed (envelope, data, components)', () => {
  const where = fc.constantFrom('envelope', 'data', 'component', 'extension');
  fc.assert(
    fc.property(arbitraryEvent(), where, fc.nat(), awkwardValue, fc.boolean(), fc.boolean(), (e, at, i, v, remove, jsonEdge) => {
      const json = JSON.parse(JSON.stringify(toCloudEventJson(e))) as Record<string, unknown> & { data: Record<string, unknown> };
      let target: Record<string, unknown> = json;
      if (at === 'data') target = json.data;
      if (at === 'component') {
        const comps = json.data.components;
        target = Array.isArray(comps) && comps.length > 0 ? (comps[i % comps.length] as Record<string, unknown>) : json.data;
      }
      const keys = [...Object.keys(target), 'sectorCode', 'reused', 'dataschema', 'datacontenttype', 'zz', 'Foo', 'trace'];
      const key = at === 'extension' ? ['trace', 'x1', 'Bad', 'data_base64'][i % 4]! : keys[i % keys.length]!;
      if (remove) delete target[key];
      else target[key] = v;
      same(json, jsonEdge);
    }),
    { numRuns: 5000 },
  );
});
