import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EVENT_NAMES, toEpochMs } from '@iocbus/events';
import * as lifecycle from './lifecycle.js';

// The dispatch codes index the events package's catalog: a reordering there must not silently remap types here.
test('each T_* dispatch code names the event type at that index of EVENT_NAMES', () => {
  const expected: Record<string, string> = {
    T_SUBMITTED: 'submitted', T_RECEIVED: 'received', T_INTAKE_REJECTED: 'intake_rejected', T_DIGITIZED: 'digitized',
    T_TRANSFERRED: 'transferred', T_SUPP_REQ: 'supplement_requested', T_SUPP_RECV: 'supplement_received',
    T_FEE_REQ: 'fee_requested', T_FEE_PAID: 'fee_paid', T_EXTENDED: 'deadline_extended', T_WITHDRAWN: 'withdrawn',
    T_STOPPED: 'stopped', T_RESOLVED: 'resolved', T_RESULT_ISSUED: 'result_issued', T_RETURNED: 'result_returned',
    T_RATED: 'rated', T_SYNCED: 'synced_national',
  };
  const codes = Object.entries(lifecycle).filter(([name]) => name.startsWith('T_'));
  assert.equal(codes.length, EVENT_NAMES.length);
  for (const [name, code] of codes) assert.equal(EVENT_NAMES[code as number], expected[name], name);
});

/** toSec as it was before its fast path: toEpochMs, whole seconds, 0 outside the Uint32 range. */
function referenceSec(s: string): number {
  const ms = toEpochMs(s);
  return ms >= 1000 && ms < 0xffff_ffff * 1000 ? Math.floor(ms / 1000) : 0;
}

const RUNS = Number(process.env.IOCBUS_PROPERTY_RUNS ?? 100) * 50;

test('toSec fast path equals toEpochMs on every string of the fixed shape, digits in range or not', () => {
  const dd = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
  const shape = fc
    .tuple(fc.integer({ min: 0, max: 9999 }), dd(99), dd(99), fc.constantFrom('T', 't'), dd(99), dd(99), dd(99), fc.constantFrom('+', '-'), dd(99), dd(99))
    .map(([y, mo, d, t, h, mi, s, sign, oh, om]) => `${String(y).padStart(4, '0')}-${mo}-${d}${t}${h}:${mi}:${s}${sign}${oh}:${om}`);
  fc.assert(fc.property(shape, (s) => assert.equal(lifecycle.toSec(s), referenceSec(s), s)), { numRuns: RUNS });
  // Real timestamps: every second of the 32-bit range, in every offset, in the shape agencies send.
  const real = fc.tuple(fc.integer({ min: 0, max: 0xffff_ffff + 86_400 }), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 })).map(([sec, off]) => {
    const local = new Date((sec + off * 60) * 1000);
    const p = (n: number) => String(n).padStart(2, '0');
    const a = Math.abs(off);
    return `${String(local.getUTCFullYear()).padStart(4, '0')}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())}T${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}${off < 0 ? '-' : '+'}${p(Math.floor(a / 60))}:${p(a % 60)}`;
  });
  fc.assert(fc.property(real, (s) => assert.equal(lifecycle.toSec(s), referenceSec(s), s)), { numRuns: RUNS });
});

test('toSec takes every other valid form (Z, fractions, lower case) and refuses broken ones as toEpochMs does', () => {
  for (const s of ['2025-07-01T08:30:00+07:00', '2025-07-01T01:30:00Z', '2025-07-01t01:30:00.123456789z', '2024-02-29T00:00:00-00:00', '1999-12-31T23:59:59.5-11:30', '2025-07-01T08:30:00.999+07:00']) {
    assert.equal(lifecycle.toSec(s), Math.floor(Date.parse(s.toUpperCase()) / 1000), s);
  }
  // One character off the fixed shape anywhere: same answer as the general parser (here, unusable → 0).
  const base = '2025-07-01T08:30:00+07:00';
  for (let i = 0; i < base.length; i++) {
    for (const c of ['x', ' ', '/', ':', '-', '+', '9', '.']) {
      const s = base.slice(0, i) + c + base.slice(i + 1);
      assert.equal(lifecycle.toSec(s), referenceSec(s), s);
    }
  }
  assert.equal(lifecycle.toSec('1970-01-01T00:00:00+00:00'), 0); // 0 means "absent" in the store
  assert.equal(lifecycle.toSec(''), 0);
});
