import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENT_NAMES } from '@iocbus/events';
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
