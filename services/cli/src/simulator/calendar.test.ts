import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkCalendar, formatLocal, weekday, yymmdd } from './calendar.js';

const cal = new WorkCalendar({ sessions: [[450, 690], [780, 1020]], workingDays: [1, 2, 3, 4, 5] });
const at = (s: string): number => Date.parse(s);
const H = 3_600_000;

test('office time skips lunch, nights and weekends; deadlines may end at closing time', () => {
  // Friday 16:00 + 8 office hours: 1 h on Friday, then Monday 07:30–11:30 and 13:00–16:00.
  assert.equal(formatLocal(cal.add(at('2025-07-11T16:00:00+07:00'), 8 * H)), '2025-07-14T16:00:00+07:00');
  // 11:00 + 1 h lands after lunch.
  assert.equal(formatLocal(cal.add(at('2025-07-08T11:00:00+07:00'), H)), '2025-07-08T13:30:00+07:00');
  // Exactly the rest of the day ends at 17:00, not at the next morning.
  assert.equal(formatLocal(cal.add(at('2025-07-08T13:00:00+07:00'), 4 * H)), '2025-07-08T17:00:00+07:00');
  // A Saturday night submission is looked at on Monday morning.
  assert.equal(formatLocal(cal.nextOpen(at('2025-07-12T21:15:00+07:00'))), '2025-07-14T07:30:00+07:00');
  assert.equal(cal.isOpen(at('2025-07-08T12:00:00+07:00')), false);
  assert.equal(cal.isOpen(at('2025-07-08T07:30:00+07:00')), true);
});

test('local dates are Asia/Ho_Chi_Minh whatever the machine’s zone', () => {
  // 23:30 UTC on Sunday is 06:30 Monday in Vietnam.
  assert.equal(weekday(at('2025-07-06T23:30:00Z')), 1);
  assert.equal(yymmdd(at('2025-07-06T23:30:00Z')), '250707');
  assert.equal(formatLocal(at('2025-07-06T23:30:00.999Z')), '2025-07-07T06:30:00+07:00');
});
