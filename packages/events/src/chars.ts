/**
 * Character checks on the validation hot path, as single passes over UTF-16 code units: several times
 * faster than the equivalent /u regular expressions (\p{Cc}, \s, lone-surrogate classes) in V8.
 *
 * Lone UTF-16 surrogates (possible in JSON via "\ud800") cannot be encoded as UTF-8, so protobuf and
 * Kafka headers would silently turn them into U+FFFD; refusing them keeps every codec exact.
 */

/** JavaScript's \s beyond ASCII (U+0009-000D and U+0020 are handled with the controls). */
function isUnicodeSpace(c: number): boolean {
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

const enum Scan {
  Ok = 0,
  Control = 1,
  Space = 2,
  LoneSurrogate = 3,
}

function scan(s: string, allowSpace: boolean, allowTabNewline: boolean): Scan {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c > 0x20 && c !== 0x7f) continue;
      if (c === 0x20) {
        if (!allowSpace) return Scan.Space;
        continue;
      }
      if ((c === 0x09 || c === 0x0a || c === 0x0d) && allowTabNewline) continue;
      if (!allowSpace && c >= 0x09 && c <= 0x0d) return Scan.Space;
      return Scan.Control;
    }
    if (c <= 0x9f) return Scan.Control;
    if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate must be followed by a low one; a low one never stands first.
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return Scan.LoneSurrogate;
    }
    if (!allowSpace && isUnicodeSpace(c)) return Scan.Space;
  }
  return Scan.Ok;
}

/** Non-empty, no whitespace, no control characters, well-formed: codes, ids, URIs. */
export function isToken(s: string): boolean {
  return s.length > 0 && scan(s, false, false) === Scan.Ok;
}

/** No control characters, well-formed; spaces allowed (event ids). */
export function isLine(s: string): boolean {
  return scan(s, true, false) === Scan.Ok;
}

/** Free text: like isLine, plus tab and newlines. */
export function isText(s: string): boolean {
  return scan(s, true, true) === Scan.Ok;
}

export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/** Why a string fails isToken / isText, for the problem message. */
export function charProblem(s: string, kind: 'token' | 'line' | 'text'): string {
  const r = kind === 'token' ? scan(s, false, false) : scan(s, true, kind === 'text');
  if (r === Scan.LoneSurrogate) return 'is not well-formed Unicode (it has a lone surrogate)';
  if (r === Scan.Space) return 'contains whitespace';
  if (r === Scan.Control) return kind === 'text' ? 'contains control characters other than tab and newline' : 'contains control characters';
  return s.length === 0 ? 'is empty' : 'is valid';
}
