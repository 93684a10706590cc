/**
 * JSON.parse of a body that holds a JSON array, element by element, straight from the chunks the socket
 * delivered: the result is exactly JSON.parse(Buffer.concat(chunks).toString('utf8')), without ever
 * building that Buffer and that string. A batch of 1000 events is ~0.5 MB; both copies are fresh large
 * allocations (the string one in V8's large-object space), each fresh page a page fault (~2 µs here):
 * together ~2.5 µs of CPU per event when this was written, a tenth of the HTTP path then.
 *
 * Elements are split at the top level of the array (string- and nesting-aware) and parsed one by one.
 * JSON has no context across elements, and every split falls on an ASCII byte, which a UTF-8 decoder
 * never merges with its neighbours, so the elements decode and parse as they would inside the whole.
 * Anything else — not an array, malformed anywhere — is handed to JSON.parse of the whole body, so
 * errors and their messages are JSON.parse's own.
 *
 * Walking every byte in JS to find where an element ends cost about as much as JSON.parse of it, and a
 * JSON.parse call per element has its own overhead. A compact array (JSON.stringify's, most clients')
 * has `},{` between its objects, so at the first object of a chunk, everything up to the chunk's last
 * `},{` (found natively, Buffer#lastIndexOf) is tried as one array: if `[` + that + `]` parses, its
 * values are exactly the body's elements there, since a parser reading the same bytes from the same
 * state takes the same path, and that one ended after a whole value at the array's level. If it does
 * not parse (a `},{` inside a string or a nested array), objects are tried one at a time up to the next
 * `},{`, by the same argument; after one miss there, the rest of the body is walked byte by byte as
 * before. Wasted work is bounded: one failed parse per chunk and one per body.
 */

const WHOLE = Symbol('parse the whole body');

const enum Byte {
  Tab = 0x09,
  Newline = 0x0a,
  Return = 0x0d,
  Space = 0x20,
  Quote = 0x22,
  Comma = 0x2c,
  OpenBracket = 0x5b,
  Backslash = 0x5c,
  CloseBracket = 0x5d,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
}

const isSpace = (b: number): boolean => b === Byte.Space || b === Byte.Newline || b === Byte.Return || b === Byte.Tab;

const enum State {
  BeforeArray,
  ArrayOpened,
  AfterComma,
  Element,
  AfterElement,
  AfterArray,
}

/** The text of bytes [fromChunk:fromAt, toChunk:toAt). */
function text(chunks: readonly Buffer[], fromChunk: number, fromAt: number, toChunk: number, toAt: number): string {
  if (fromChunk === toChunk) return (chunks[fromChunk] as Buffer).toString('utf8', fromAt, toAt);
  const parts: Buffer[] = [(chunks[fromChunk] as Buffer).subarray(fromAt)];
  for (let c = fromChunk + 1; c < toChunk; c++) parts.push(chunks[c] as Buffer);
  parts.push((chunks[toChunk] as Buffer).subarray(0, toAt));
  return Buffer.concat(parts).toString('utf8');
}

/** The separator between the objects of a compact array. */
const NEXT_OBJECT = Buffer.from('},{');
const NOT_JSON = Symbol('not JSON');

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/**
 * One pass over the bytes, the splitter's state in locals. An element is a bracketed value (it ends
 * where its nesting returns to zero outside strings), a string, or a scalar (it ends at a delimiter).
 */
function parseElements(chunks: readonly Buffer[]): unknown[] | typeof WHOLE {
  const out: unknown[] = [];
  let state = State.BeforeArray;
  let depth = 0; // nesting inside a bracketed element
  let inString = false;
  let escaped = false;
  let scalar = false;
  let startChunk = 0;
  let startAt = 0;
  // Whether an object element is first tried up to the next `},{` (off for the body after one miss)…
  let guess = true;
  // …and, once per chunk, the run of objects up to the chunk's last `},{`.
  let guessRun = true;
  // In the current chunk, no `},{` from this offset on.
  let noSeparatorFrom = Number.POSITIVE_INFINITY;
  const finish = (endChunk: number, endAt: number): boolean => {
    try {
      out.push(JSON.parse(text(chunks, startChunk, startAt, endChunk, endAt)));
      return true;
    } catch {
      return false;
    }
  };
  for (let c = 0; c < chunks.length; c++) {
    const buf = chunks[c] as Buffer;
    const n = buf.length;
    noSeparatorFrom = Number.POSITIVE_INFINITY;
    guessRun = guess;
    for (let i = 0; i < n; i++) {
      if (state === State.Element) {
        // Tight loops for the bulk of the bytes: inside strings, then inside a bracketed value.
        if (inString) {
          for (; i < n; i++) {
            const b = buf[i] as number;
            if (escaped) escaped = false;
            else if (b === Byte.Backslash) escaped = true;
            else if (b === Byte.Quote) break;
          }
          if (i === n) break;
          inString = false;
          if (depth === 0) {
            if (!finish(c, i + 1)) return WHOLE;
            state = State.AfterElement;
          }
          continue;
        }
        if (!scalar) {
          for (; i < n; i++) {
            const b = buf[i] as number;
            if (b === Byte.Quote) {
              inString = true;
              break;
            }
            if (b === Byte.OpenBrace || b === Byte.OpenBracket) depth++;
            else if ((b === Byte.CloseBrace || b === Byte.CloseBracket) && --depth === 0) break;
          }
          if (i === n || inString) continue;
          if (!finish(c, i + 1)) return WHOLE;
          state = State.AfterElement;
          continue;
        }
        const b = buf[i] as number;
        if (b !== Byte.Comma && b !== Byte.CloseBracket && !isSpace(b)) continue;
        // A delimiter ends a scalar, then counts as the byte after it.
        scalar = false;
        if (!finish(c, i)) return WHOLE;
        state = State.AfterElement;
      }
      const b = buf[i] as number;
      if (isSpace(b)) continue;
      if (state === State.AfterElement) {
        if (b === Byte.Comma) state = State.AfterComma;
        else if (b === Byte.CloseBracket) state = State.AfterArray;
        else return WHOLE;
        continue;
      }
      if (state === State.BeforeArray) {
        if (b !== Byte.OpenBracket) return WHOLE;
        state = State.ArrayOpened;
        continue;
      }
      if (state === State.AfterArray) return WHOLE;
      if (state === State.ArrayOpened && b === Byte.CloseBracket) {
        state = State.AfterArray;
        continue;
      }
      // ArrayOpened or AfterComma: the first byte of an element.
      if (b === Byte.CloseBracket || b === Byte.Comma) return WHOLE;
      if (b === Byte.OpenBrace && guessRun) {
        // Once per chunk: every object from here to the chunk's last `},{`, in one JSON.parse.
        guessRun = false;
        const last = buf.lastIndexOf(NEXT_OBJECT);
        if (last > i) {
          const run = tryParse(`[${buf.toString('utf8', i, last + 1)}]`);
          if (run !== NOT_JSON) {
            for (const value of run as unknown[]) out.push(value);
            state = State.AfterElement;
            i = last;
            continue;
          }
        }
      }
      if (b === Byte.OpenBrace && guess && i < noSeparatorFrom) {
        const end = buf.indexOf(NEXT_OBJECT, i);
        if (end < 0) noSeparatorFrom = i;
        else {
          const value = tryParse(buf.toString('utf8', i, end + 1));
          if (value !== NOT_JSON) {
            out.push(value);
            state = State.AfterElement;
            i = end; // the loop moves on to the comma
            continue;
          }
          guess = false;
        }
      }
      state = State.Element;
      startChunk = c;
      startAt = i;
      if (b === Byte.Quote) inString = true;
      else if (b === Byte.OpenBrace || b === Byte.OpenBracket) depth = 1;
      else scalar = true;
    }
  }
  return state === State.AfterArray ? out : WHOLE;
}

/** Exactly JSON.parse(Buffer.concat(chunks).toString('utf8')), throwing what it throws. */
export function parseJsonChunks(chunks: readonly Buffer[]): unknown {
  const elements = parseElements(chunks);
  if (elements !== WHOLE) return elements;
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
