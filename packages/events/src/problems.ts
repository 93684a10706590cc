/**
 * Problems: what is wrong with an event, each at a JSON path (`$.data.receivedAt`, `$.data.components[0].code`)
 * and with a message that names the field and what was expected. Built from zod issues plus our own checks.
 */
import type { z } from 'zod';

export type Problem = { path: string; message: string };
export type PathSegment = string | number;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function jsonPath(segments: readonly PropertyKey[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && IDENT.test(s)) out += `.${s}`;
    else out += `['${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return out;
}

/** The path as a reader names the field: `$.data.receivedAt` → `data.receivedAt`. */
export function fieldLabel(path: string): string {
  if (path === '$') return 'event';
  const bracket = /^\$\['(.*)'\]$/.exec(path);
  if (bracket !== null) return `attribute ${bracket[1]}`;
  return path.startsWith('$.') ? path.slice(2) : path.slice(1);
}

export function problem(path: string, message: string): Problem {
  // Messages starting with "is" read as a sentence about the field; others follow a colon.
  const sep = message.startsWith('is ') ? ' ' : ': ';
  return { path, message: `${fieldLabel(path)}${sep}${message}` };
}

/** Appends one Problem per zod issue (one per unknown key), with paths under `prefix`. */
export function collectIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PathSegment[],
  out: Problem[],
  unknownKeyHint: string,
): void {
  for (const issue of issues) {
    const base = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push(problem(jsonPath([...base, key]), `is not a known field (${unknownKeyHint}); check its spelling or remove it`));
      }
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.message === 'Invalid input') {
      out.push(problem(jsonPath(base), 'has an invalid value'));
    } else {
      out.push(problem(jsonPath(base), issue.message));
    }
  }
}
