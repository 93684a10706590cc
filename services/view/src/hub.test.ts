import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { waitFor } from '@iocbus/testing';
import { ViewCore } from './core.js';
import type { ViewError } from './errors.js';
import { compileFilter, type IndicatorFilter } from './filter.js';
import { Hub, type HubOptions, type Sink } from './hub.js';
import type { OutMessage } from './messages.js';
import type { RecordLike } from './state.js';
import { DAY, ManualClock, partialRecord, province, received, testCatalog, unit } from './test-support.js';

class FakeSink implements Sink {
  readonly transport = 'grpc' as const;
  readonly messages: OutMessage[] = [];
  /** When false, every write reports a full buffer. */
  accepting = true;
  drainWaiter: (() => void) | undefined;
  endedWith: ViewError | undefined | 'ok';
  aborted: ViewError | undefined;
  write(m: OutMessage): boolean {
    this.messages.push(m);
    return this.accepting;
  }
  onDrain(cb: () => void): void {
    this.drainWaiter = cb;
  }
  drain(): void {
    this.accepting = true;
    const cb = this.drainWaiter;
    this.drainWaiter = undefined;
    cb?.();
  }
  end(error?: ViewError): void {
    this.endedWith = error ?? 'ok';
  }
  abort(error: ViewError): void {
    this.aborted = error;
  }
  kinds(): string[] {
    return this.messages.map((m) => m.body.kind);
  }
  /** Values by key as the client would hold them after every message. */
  values(): Map<string, number | null> {
    const state = new Map<string, number | null>();
    for (const m of this.messages) {
      const b = m.body;
      if (b.kind === 'reset') state.clear();
      if (b.kind === 'snapshot' || b.kind === 'delta') for (const v of b.values) state.set(v.key, v.value);
      if (b.kind === 'delta') for (const k of b.removed) state.delete(k.key);
    }
    return state;
  }
}

interface Fixture {
  clock: ManualClock;
  core: ViewCore;
  hub: Hub;
  push(...records: { key: string; value: Buffer }[]): void;
}

function fixture(t: TestContext, options: Partial<HubOptions> = {}, coreOptions: { changelogMaxKeys?: number } = {}): Fixture {
  const clock = new ManualClock();
  const core = new ViewCore({
    topic: 'partials',
    partitions: 1,
    historyId: 'test',
    catalog: testCatalog,
    now: () => clock.now(),
    changelogMaxKeys: coreOptions.changelogMaxKeys ?? 100_000,
    maxTokenAgeMs: 3_600_000,
    maxMarkers: 1000,
    onDecodeError: () => {},
  });
  const hub = new Hub({
    core,
    now: () => clock.now(),
    heartbeatMs: 1000,
    chunkValues: 1000,
    maxSubscribers: 100,
    maxStreamAgeMs: 3_600_000,
    stallTimeoutMs: 60_000,
    catchUpTimeoutMs: 1000,
    defaultMaxUpdatesPerSecond: 0,
    maxUpdatesPerSecondCap: 0,
    progress: () => ({ watermarkMs: null, progressTimeMs: null }),
    ...options,
  });
  t.after(() => hub.close());
  let offset = 0;
  const push = (...records: { key: string; value: Buffer }[]): void => {
    core.apply(records.map((r): RecordLike => ({ partition: 0, offset: String(offset++), key: r.key, value: r.value })));
    core.publish();
    hub.published();
  };
  push(partialRecord(0, received('day', DAY, province, 1)));
  return { clock, core, hub, push };
}

const RECEIVED: IndicatorFilter = { indicators: ['received'], windows: ['day'], scopes: [{ kind: 'province' }] };
const KEY = 'received|day:2025-03-14|province:H21';

test('snapshot first, then one delta per change, each with a fresh token', (t) => {
  const { hub, push } = fixture(t);
  const sink = new FakeSink();
  hub.subscribe(sink, { filter: compileFilter(RECEIVED) });
  assert.deepEqual(sink.kinds(), ['snapshot']);
  assert.equal(sink.values().get(KEY), 1);
  push(partialRecord(0, received('day', DAY, province, 2)));
  push(partialRecord(0, received('day', DAY, unit('H21.17'), 9)));
  assert.deepEqual(sink.kinds(), ['snapshot', 'delta'], 'a change outside the filter sends nothing');
  assert.equal(sink.values().get(KEY), 2);
  const tokens = sink.messages.map((m) => m.token);
  assert.equal(new Set(tokens).size, 2);
});

test('a blocked subscriber coalesces to the latest value per key; others are not held back', (t) => {
  const { hub, push } = fixture(t);
  const slow = new FakeSink();
  const fast = new FakeSink();
  hub.subscribe(slow, { filter: compileFilter(RECEIVED) });
  hub.subscribe(fast, { filter: compileFilter(RECEIVED) });
  slow.accepting = false;
  push(partialRecord(0, received('day', DAY, province, 2)));
  assert.equal(slow.messages.length, 2, 'the write that filled the buffer was the last one');
  for (let n = 3; n <= 50; n++) push(partialRecord(0, received('day', DAY, province, n)));
  assert.equal(slow.messages.length, 2, 'nothing is written while blocked');
  assert.equal(fast.messages.length, 50, 'the other subscriber got every change');
  assert.equal(hub.stats().blocked, 1);
  slow.drain();
  assert.equal(slow.messages.length, 3, 'one coalesced delta after the drain');
  const last = slow.messages[2]!;
  assert.equal(last.body.kind, 'delta');
  assert.deepEqual(last.body.kind === 'delta' ? last.body.values.map((v) => [v.key, v.value]) : [], [[KEY, 50]]);
  assert.equal(last.token, fast.messages[49]!.token, 'both end on the same position');
});

test('subscribers sharing a filter share the built message and its encoding', (t) => {
  const { hub, push } = fixture(t);
  const a = new FakeSink();
  const b = new FakeSink();
  hub.subscribe(a, { filter: compileFilter(RECEIVED) });
  hub.subscribe(b, { filter: compileFilter({ ...RECEIVED, indicators: ['received'] }) });
  push(partialRecord(0, received('day', DAY, province, 2)));
  assert.equal(a.messages[1], b.messages[1]);
  assert.equal(a.messages[0], b.messages[0]);
  // Encoded once: every subscriber's transport is handed the very same bytes.
  assert.equal(a.messages[1]!.sse(), b.messages[1]!.sse());
  assert.equal(a.messages[1]!.grpc(), b.messages[1]!.grpc());
  assert.ok(Buffer.isBuffer(a.messages[1]!.sse()));
});

test('a subscriber further behind than the change log keeps is reset and re-snapshotted', (t) => {
  const { hub, push } = fixture(t, {}, { changelogMaxKeys: 5 });
  const slow = new FakeSink();
  hub.subscribe(slow, { filter: compileFilter(RECEIVED) });
  slow.accepting = false;
  push(partialRecord(0, received('day', DAY, province, 2)));
  for (let n = 3; n <= 30; n++) push(partialRecord(0, received('day', DAY, province, n)));
  slow.drain();
  assert.deepEqual(slow.kinds(), ['snapshot', 'delta', 'reset', 'snapshot']);
  const reset = slow.messages[2]!.body;
  assert.equal(reset.kind === 'reset' ? reset.cause : '', 'too_far_behind');
  assert.equal(slow.values().get(KEY), 30);
});

test('max updates per second spaces deltas and coalesces in between', async (t) => {
  const { hub, push, clock } = fixture(t);
  const sink = new FakeSink();
  hub.subscribe(sink, { filter: compileFilter(RECEIVED), maxUpdatesPerSecond: 20 });
  push(partialRecord(0, received('day', DAY, province, 2)));
  push(partialRecord(0, received('day', DAY, province, 3)));
  push(partialRecord(0, received('day', DAY, province, 4)));
  assert.deepEqual(sink.kinds(), ['snapshot', 'delta']);
  clock.advance(50);
  await waitFor(() => sink.messages.length === 3, { timeoutMs: 2000, message: 'the rate-limited delta' });
  assert.equal(sink.values().get(KEY), 4);
});

test('heartbeats go to idle subscribers only, with the head token', (t) => {
  const { hub, push, clock, core } = fixture(t);
  const idle = new FakeSink();
  const busy = new FakeSink();
  hub.subscribe(idle, { filter: compileFilter(RECEIVED) });
  hub.subscribe(busy, { filter: compileFilter({ scopes: [{ kind: 'unit' }] }) });
  clock.advance(900);
  push(partialRecord(0, received('day', DAY, unit('H21.17'), 2)));
  clock.advance(200);
  hub.tick();
  assert.deepEqual(idle.kinds(), ['snapshot', 'heartbeat']);
  assert.deepEqual(busy.kinds(), ['snapshot', 'delta']);
  assert.equal(idle.messages[1]!.token, core.headToken(compileFilter(RECEIVED)), 'the heartbeat token moved past the unit change');
});

test('streams end at their maximum age with a last heartbeat; stalled ones are dropped', async (t) => {
  const { hub } = fixture(t, { maxStreamAgeMs: 1000, stallTimeoutMs: 5000 });
  const ok = new FakeSink();
  const stuck = new FakeSink();
  hub.subscribe(ok, { filter: compileFilter(RECEIVED) });
  stuck.accepting = false;
  hub.subscribe(stuck, { filter: compileFilter(RECEIVED) });
  await waitFor(() => ok.endedWith !== undefined, { timeoutMs: 3000, message: 'max age end' });
  assert.equal(ok.endedWith !== 'ok' ? ok.endedWith?.code : '', 'IOC_VIEW_STREAM_MAX_AGE');
  assert.equal(ok.kinds().at(-1), 'heartbeat');
  await waitFor(() => stuck.aborted !== undefined || stuck.endedWith !== undefined, { timeoutMs: 3000, message: 'blocked stream ended at max age' });
  assert.equal(stuck.aborted?.code, 'IOC_VIEW_STREAM_MAX_AGE', 'a blocked stream cannot flush: dropped');

  const stalled = new FakeSink();
  const { hub: hub2, clock: clock2 } = fixture(t, { stallTimeoutMs: 5000 });
  stalled.accepting = false;
  hub2.subscribe(stalled, { filter: compileFilter(RECEIVED) });
  clock2.advance(6000);
  hub2.tick();
  assert.equal(stalled.aborted?.code, 'IOC_VIEW_SUBSCRIBER_STALLED');
  assert.equal(hub2.stats().subscribers, 0);
});

test('resume: same position gives an empty delta; a token ahead waits for the instance to catch up', (t) => {
  const { hub, push, core } = fixture(t);
  const filter = compileFilter(RECEIVED);
  const first = new FakeSink();
  hub.subscribe(first, { filter });
  const token = first.messages[0]!.token;
  const again = new FakeSink();
  hub.subscribe(again, { filter, resumeToken: token });
  assert.deepEqual(again.kinds(), ['delta']);
  assert.equal(again.messages[0]!.body.kind === 'delta' ? again.messages[0]!.body.values.length : -1, 0);

  // A token from a peer that has read one more record than this hub has published.
  const peerState = { offsets: [core.log.headState.offsets[0]! + 1], minute: core.log.headState.minute };
  const ahead = new FakeSink();
  hub.subscribe(ahead, { filter, resumeToken: core.tokenFor(peerState, filter) });
  assert.deepEqual(ahead.kinds(), [], 'waits');
  assert.equal(hub.stats().waiting, 1);
  // The peer had the first of these records; the second is news to its client.
  push(partialRecord(0, received('day', DAY, province, 5)), partialRecord(0, received('day', DAY, province, 6)));
  assert.deepEqual(ahead.kinds(), ['delta']);
  assert.equal(ahead.values().get(KEY), 6);

  const wrongFilter = new FakeSink();
  hub.subscribe(wrongFilter, { filter: compileFilter({ indicators: ['resolved'] }), resumeToken: token });
  assert.deepEqual(wrongFilter.kinds(), ['reset', 'snapshot']);
  const garbage = new FakeSink();
  hub.subscribe(garbage, { filter, resumeToken: 'not-a-token' });
  const b = garbage.messages[0]!.body;
  assert.equal(b.kind === 'reset' ? b.cause : '', 'token_invalid');
});

test('a token ahead that never becomes reachable is reset after the catch-up timeout', async (t) => {
  const { hub, core } = fixture(t, { catchUpTimeoutMs: 50 });
  const filter = compileFilter(RECEIVED);
  const sink = new FakeSink();
  hub.subscribe(sink, { filter, resumeToken: core.tokenFor({ offsets: [1000], minute: core.log.headState.minute }, filter) });
  await waitFor(() => sink.messages.length === 2, { timeoutMs: 2000, message: 'reset after timeout' });
  assert.deepEqual(sink.kinds(), ['reset', 'snapshot']);
  const b = sink.messages[0]!.body;
  assert.equal(b.kind === 'reset' ? b.cause : '', 'token_ahead');
});

test('a large snapshot is chunked; only the last chunk carries a resumable token', (t) => {
  const { hub, push, core } = fixture(t, { chunkValues: 10 });
  push(partialRecord(0, received('day', DAY, unit('H21.17'), 3)), partialRecord(0, received('day', DAY, unit('H21.18'), 4)));
  const sink = new FakeSink();
  const filter = compileFilter({});
  hub.subscribe(sink, { filter });
  const chunks = sink.messages.map((m) => m.body);
  assert.ok(chunks.length > 3);
  assert.ok(chunks.every((c, i) => c.kind === 'snapshot' && c.more === i < chunks.length - 1));
  const total = chunks.reduce((n, c) => n + (c.kind === 'snapshot' ? c.values.length : 0), 0);
  assert.equal(total, core.snapshot(filter).length);
  const mid = new FakeSink();
  hub.subscribe(mid, { filter, resumeToken: sink.messages[0]!.token });
  const b = mid.messages[0]!.body;
  assert.equal(b.kind === 'reset' ? b.cause : '', 'incomplete_snapshot');
  const end = new FakeSink();
  hub.subscribe(end, { filter, resumeToken: sink.messages.at(-1)!.token });
  assert.deepEqual(end.kinds(), ['delta']);
});
