import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { waitFor } from '@iocbus/testing';
import { createHttpIngestClient } from '../ingest-client/http.js';
import { sendSplitting, DEFAULT_RETRY } from '../ingest-client/retry.js';
import { ProvinceSimulator, SAMPLE_PROFILE_PATH, loadProfileFile } from '../simulator/index.js';
import { startEmbedded } from '../start/embedded.js';
import { parseSse, subscribeGrpc, subscribeSse, type StreamHandle, type WatchFilter } from './stream.js';
import { WatchStore, renderTable } from './table.js';
import { columnsFor } from '../commands/watch.js';

const BIN = fileURLToPath(new URL('../../bin/iocbus.js', import.meta.url));
const DAY = Date.parse('2025-07-08T00:00:00+07:00');

async function fedApp() {
  const catalog = await loadSampleCatalog();
  const sim = new ProvinceSimulator({ catalog, profile: await loadProfileFile(SAMPLE_PROFILE_PATH, catalog), seed: 'watch', startMs: DAY });
  const events = sim.advanceTo(DAY + 11 * 3_600_000).map((e) => e.event);
  const app = await startEmbedded({ catalog, host: '127.0.0.1', logLevel: 'silent', fast: true, clock: () => sim.now, gatewayHttpPort: 0, gatewayGrpcPort: 0, viewHttpPort: 0, viewGrpcPort: 0 });
  const client = createHttpIngestClient({ url: app.urls.gatewayHttp, apiKey: app.localKey });
  for (let i = 0; i < events.length; i += 500) await sendSplitting(client, events.slice(i, i + 500), DEFAULT_RETRY);
  return { app, sim, count: events.length };
}

test('the SSE parser splits events, keeps ids and joins data lines', () => {
  const buffer = { text: 'retry: 1000\n\nid: t1\nevent: snapshot\ndata: {"a":\ndata: 1}\n\n: comment\n\nid: t2\nevent: heartbeat\ndata: {}\r\n\r\nid: t3\nevent: delta\ndata: {"partial"' };
  const events = [...parseSse(buffer)];
  assert.deepEqual(events, [
    { id: 't1', event: 'snapshot', data: '{"a":\n1}' },
    { id: 't2', event: 'heartbeat', data: '{}' },
  ]);
  assert.equal(buffer.text, 'id: t3\nevent: delta\ndata: {"partial"', 'an incomplete event waits for the rest');
});

test('watch over SSE and over gRPC shows the same table as GET /v1/indicators', { timeout: 120_000 }, async (t) => {
  const { app } = await fedApp();
  t.after(() => app.close());
  const columns = columnsFor(undefined, 'day');
  const filter: WatchFilter = { indicators: columns.map((c) => c.indicator), windows: ['day', 'now'], scopes: ['province', 'unit'] };
  // What the API says, rendered by the same table code.
  const apiTable = async (): Promise<string[]> => {
    const res = await fetch(`${app.urls.wall}v1/indicators?indicator=${filter.indicators.join(',')}&window=today,now&scope=province,unit&current=true`);
    const body = (await res.json()) as { values: never[] };
    const store = new WatchStore();
    store.apply({ kind: 'snapshot', values: body.values, more: false, watermarkMs: null });
    return renderTable(store, { columns });
  };
  await waitFor(async () => (await apiTable()).length > 15, { timeoutMs: 30_000, message: 'the view to hold the fed events' });
  const first = await apiTable();
  assert.match(first[2] ?? '', /^Tỉnh Mẫu \(SAMPLE\)\s+[\d,]+\s+[\d,]+\s+[\d.]+%/);

  for (const transport of ['sse', 'grpc'] as const) {
    const store = new WatchStore();
    const states: string[] = [];
    const handlers = { onMessage: (m: Parameters<WatchStore['apply']>[0]) => void store.apply(m), onState: (s: string) => void states.push(s) };
    const handle: StreamHandle = transport === 'sse' ? subscribeSse(app.urls.wall, filter, handlers) : subscribeGrpc(app.urls.viewGrpc, filter, handlers);
    t.after(() => handle.close());
    let want: string[] = [];
    let got: string[] = [];
    await waitFor(
      async () => {
        want = await apiTable();
        got = renderTable(store, { columns });
        return store.ready && JSON.stringify(got) === JSON.stringify(want);
      },
      { timeoutMs: 20_000, intervalMs: 200, message: `the ${transport} table to equal the API's` },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (states ${states.join(',')}):\n${want.join('\n')}\n---\n${got.join('\n')}`);
    });
    assert.ok(states.includes('live'), `${transport} went live`);
    handle.close();
  }

  // The installed command, end to end: one table and exit 0.
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'watch', '--once', '--http', app.urls.wall], { timeout: 60_000 });
  assert.match(stdout, /live · data as of 2025-07-08 1\d:\d\d:\d\d/);
  assert.ok(stdout.includes((await apiTable())[2] as string), `iocbus watch printed:\n${stdout}`);
});
