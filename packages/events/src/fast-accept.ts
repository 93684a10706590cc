/**
 * An accept-only fast path in front of the zod schemas. zod 4 runs every field through its generic machinery
 * (a payload object and an issues array per field, the checks list, the strict-object key scan): about
 * two thirds of validating a typical event. Here each field schema carries the same predicate its zod
 * check runs (registered next to it in fields.ts/schemas.ts), and an object is checked by calling them
 * directly. The answer is either the value zod would output — built the way zod builds it: objects with
 * the shape's keys in shape order, an optional key kept (as undefined) when present with no value, arrays
 * copied — or REJECT, which means "not sure": the caller then runs zod itself, so every rejection and
 * every problem message still comes from zod. Accepting is allowed only where zod accepts with the same
 * output; parse.test.ts property-tests that on valid and corrupted events.
 *
 * Only schemas that registered a predicate (and objects and optionals of them) get a fast path; anything
 * else returns undefined from acceptOf and is validated by zod alone.
 */
/** "Not certainly valid": let zod decide and explain. */
export const REJECT: unique symbol = Symbol('REJECT');
export type Accept = (v: unknown) => unknown;

const registered = new WeakMap<object, Accept>();

/** Attaches to a schema the predicate its own checks apply; returns the schema. */
export function withAccept<T extends object>(schema: T, accept: Accept): T {
  registered.set(schema, accept);
  return schema;
}

interface Def {
  type: string;
  innerType?: object;
  shape?: Record<string, object>;
  catchall?: { _zod: { def: Def } };
}

const defOf = (schema: object): Def => (schema as { _zod: { def: Def } })._zod.def;

interface Entry {
  key: string;
  optional: boolean;
  accept: Accept;
}

function objectAccept(def: Def): Accept | undefined {
  const catchall = def.catchall?._zod.def.type;
  // z.strictObject has a `never` catchall, z.object none (strips); other catchalls are not mirrored here.
  if (catchall !== undefined && catchall !== 'never') return undefined;
  const strict = catchall === 'never';
  const entries: Entry[] = [];
  for (const [key, schema] of Object.entries(def.shape ?? {})) {
    if (key === '__proto__') return undefined;
    const optional = defOf(schema).type === 'optional';
    const accept = acceptOf(optional ? (defOf(schema).innerType as object) : schema);
    if (accept === undefined) return undefined;
    entries.push({ key, optional, accept });
  }
  return generate(entries, strict);
}

/**
 * The object check as generated code with the keys as literals, as zod and protobufjs do: a data-driven
 * `input[entry.key]` is a megamorphic load (17 data shapes), and the output object is built by the same
 * stores in the same order every time, so it keeps one hidden class.
 */
function generate(entries: readonly Entry[], strict: boolean): Accept {
  const lines = ["if (typeof v !== 'object' || v === null || Array.isArray(v)) return R;"];
  // zod's strict check walks the same for-in keys.
  if (strict) lines.push('for (const k in v) if (!K.has(k)) return R;');
  lines.push('const out = {};', 'let x, r;');
  entries.forEach((e, i) => {
    const k = JSON.stringify(e.key);
    const absent = e.optional ? `if (${k} in v) out[${k}] = undefined;` : 'return R;';
    lines.push(`x = v[${k}]; if (x === undefined) { ${absent} } else { r = A[${i}](x); if (r === R) return R; out[${k}] = r; }`);
  });
  lines.push('return out;');
  const keys = new Set(entries.map((e) => e.key));
  // Source generated from the schema's keys only (no input data).
  return new Function('R', 'K', 'A', `return function accept(v) {\n${lines.join('\n')}\n};`)(
    REJECT,
    keys,
    entries.map((e) => e.accept),
  ) as Accept;
}

/** The fast path of a schema: registered, or built for objects whose fields all have one; else undefined. */
export function acceptOf(schema: object): Accept | undefined {
  const known = registered.get(schema);
  if (known !== undefined) return known;
  const def = defOf(schema);
  if (def.type !== 'object') return undefined;
  const built = objectAccept(def);
  if (built !== undefined) registered.set(schema, built);
  return built;
}

/** Accepts an array of length 1..max whose items all accept; the copy zod would output. */
export function listAccept(item: object, max: number): Accept {
  let itemAccept: Accept | undefined;
  return (v) => {
    if (!Array.isArray(v) || v.length === 0 || v.length > max) return REJECT;
    // Resolved on first use: the item's schema (a component object) may be registered after the list.
    itemAccept ??= acceptOf(item) ?? (() => REJECT);
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const r = itemAccept(v[i]);
      if (r === REJECT) return REJECT;
      out[i] = r;
    }
    return out;
  };
}
