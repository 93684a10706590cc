import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { charProblem, isLine, isText, isToken, isWellFormed } from './chars.js';

// The regular expressions these single-pass checks replace, as the reference.
const TOKEN = /^[^\s\p{Cc}]+$/u;
const LINE = /^[^\p{Cc}]*$/u;
const LONE = /[\uD800-\uDFFF]/u;

test('property: char checks agree with the reference regular expressions', () => {
  const tricky = fc.constantFrom(' ', '\t', '\n', '\r', '\u000b', '\u0000', '\u007f', '\u0085', '\u009f', '\u00a0', '\u2028', '\u3000', '\ufeff', '\ud800', '\udc00', '😀', 'ệ', 'a');
  const str = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.array(tricky, { maxLength: 6 }).map((a) => a.join('')));
  fc.assert(
    fc.property(str, (s) => {
      const wellFormed = !LONE.test(s);
      assert.equal(isWellFormed(s), wellFormed);
      assert.equal(isToken(s), TOKEN.test(s) && wellFormed);
      assert.equal(isLine(s), LINE.test(s) && wellFormed);
      assert.equal(isText(s), LINE.test(s.replace(/[\t\n\r]/g, '')) && wellFormed);
    }),
    { numRuns: 5000 },
  );
});

test('charProblem says what is wrong', () => {
  assert.equal(charProblem('a b', 'token'), 'contains whitespace');
  assert.equal(charProblem('a\u0001', 'line'), 'contains control characters');
  assert.equal(charProblem('a\ud800', 'token'), 'is not well-formed Unicode (it has a lone surrogate)');
  assert.equal(charProblem('', 'token'), 'is empty');
});
