/**
 * The wall screen in a real browser (Debian's chromium, driven by playwright-core): it goes live, shows
 * exactly what GET /v1/indicators says at a moment when nothing moves, switches language, shows a clear
 * state when the server goes away, and recovers by itself when a server comes back on the same port.
 * Screenshots go to artifacts/ at the repository root.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { waitFor } from '@iocbus/testing';
import { chromium, type Page } from 'playwright-core';
import { createHttpIngestClient } from '../ingest-client/http.js';
import { runSimulation } from '../simulate/run.js';
import { ProvinceSimulator, SAMPLE_PROFILE_PATH, loadProfileFile } from '../simulator/index.js';
import { startEmbedded, type Embedded } from '../start/embedded.js';
import { freePort } from '../test-support.js';
// The page's own formatting and labels, imported as they are served: the test formats like the page.
import { formatField } from './public/format.js';
import { STREAM_QUERY, UNITS } from './public/labels.js';

const ARTIFACTS = fileURLToPath(new URL('../../../../artifacts/', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const DAY_START = Date.parse('2025-07-08T00:00:00+07:00');
const CAUGHT_UP = DAY_START + 10.5 * 3_600_000;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface ApiValue {
  indicator: string;
  window: { kind: string; current: boolean };
  scope: { kind: string; code: string };
  [field: string]: unknown;
}

interface Fed {
  app: Embedded;
  sim: ProvinceSimulator;
  paused: { value: boolean };
  stop(): Promise<void>;
}

/** The embedded IOC on fixed ports, fed by the simulator on its own clock (which stops when paused). */
async function feed(ports: { gatewayHttp: number; gatewayGrpc: number; viewHttp: number; viewGrpc: number }, seed: string): Promise<Fed> {
  const catalog = await loadSampleCatalog();
  const profile = await loadProfileFile(SAMPLE_PROFILE_PATH, catalog);
  // A fixed Tuesday: midnight to 10:30 replayed at once, then its clock runs at ten times real time. The
  // services live on that clock, so "today" is that Tuesday whatever day the test runs.
  const sim = new ProvinceSimulator({ catalog, profile, seed, startMs: DAY_START });
  const app = await startEmbedded({
    catalog,
    host: '127.0.0.1',
    logLevel: 'silent',
    fast: true,
    simulated: true,
    clock: () => sim.now,
    gatewayHttpPort: ports.gatewayHttp,
    gatewayGrpcPort: ports.gatewayGrpc,
    viewHttpPort: ports.viewHttp,
    viewGrpcPort: ports.viewGrpc,
  });
  const paused = { value: false };
  const abort = new AbortController();
  const running = runSimulation({
    simulator: sim,
    sink: { kind: 'client', client: createHttpIngestClient({ url: app.urls.gatewayHttp, apiKey: app.localKey }) },
    speed: 10,
    catchUpUntil: CAUGHT_UP,
    signal: abort.signal,
    paused: () => paused.value,
  }).catch(() => undefined);
  return {
    app,
    sim,
    paused,
    async stop() {
      abort.abort();
      await running;
      await app.close();
    },
  };
}

async function api(base: string): Promise<Map<string, ApiValue>> {
  const res = await fetch(`${base}v1/indicators?${STREAM_QUERY}`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { values: ApiValue[] };
  const out = new Map<string, ApiValue>();
  for (const v of body.values) if (v.window.current) out.set(`${v.indicator}|${v.window.kind}|${v.scope.kind}|${v.scope.kind === 'province' ? '' : v.scope.code}`, v);
  return out;
}

/** Every number on the page next to what the API says for it; mismatches listed. */
async function compare(page: Page, base: string, lang: 'vi' | 'en'): Promise<{ checked: number; mismatches: string[] }> {
  const values = await api(base);
  const shown = await page.$$eval('[data-k]', (els) => els.map((e) => ({ k: (e as HTMLElement).dataset.k as string, text: e.textContent ?? '' })));
  const mismatches: string[] = [];
  for (const { k, text } of shown) {
    const [indicator, windowKind, scope, field] = k.split('|') as [string, string, string, string];
    const colon = scope.indexOf(':');
    const scopeKind = colon < 0 ? scope : scope.slice(0, colon);
    const code = colon < 0 ? '' : scope.slice(colon + 1);
    const v = values.get(`${indicator}|${windowKind}|${scopeKind}|${code}`);
    const raw = v === undefined ? null : ((v[field] as number | null | undefined) ?? null);
    const expected = formatField(UNITS[indicator as keyof typeof UNITS] ?? 'count', field, raw, lang);
    if (text !== expected) mismatches.push(`${k}: page "${text}", API ${JSON.stringify(raw)} → "${expected}"`);
  }
  // The ranking's order is the data's order too.
  const onTime = [...values.values()]
    .filter((v) => v.indicator === 'on_time_rate' && v.window.kind === 'month' && v.scope.kind === 'unit' && v.value !== null && ((v.denominator as number) ?? 0) >= 5)
    .sort((a, b) => (a.value as number) - (b.value as number) || (b.denominator as number) - (a.denominator as number) || a.scope.code.localeCompare(b.scope.code))
    .slice(0, 6)
    .map((v) => v.scope.code);
  const rows = await page.$$eval('#rank-ontime [data-k$="|value"]', (els) => els.map((e) => ((e as HTMLElement).dataset.k as string).split('|')[2]?.slice('unit:'.length)));
  if (JSON.stringify(rows) !== JSON.stringify(onTime)) mismatches.push(`ranking: page ${rows.join(',')} vs API ${onTime.join(',')}`);
  return { checked: shown.length, mismatches };
}

/** Waits for a moment where the API holds still and the page shows exactly it. */
async function assertPageMatchesApi(page: Page, base: string, lang: 'vi' | 'en'): Promise<number> {
  let last: { checked: number; mismatches: string[] } | undefined;
  await waitFor(
    async () => {
      last = await compare(page, base, lang);
      return last.mismatches.length === 0 && last.checked > 0;
    },
    { timeoutMs: 20_000, intervalMs: 250, message: `the page to show the API's numbers (${lang})` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${last?.mismatches.slice(0, 15).join('\n')}`);
  });
  return last?.checked ?? 0;
}

test('the wall screen shows the live indicators, exactly, and survives the server going away', { timeout: 240_000 }, async (t) => {
  await mkdir(ARTIFACTS, { recursive: true });
  const ports = { gatewayHttp: await freePort(), gatewayGrpc: await freePort(), viewHttp: await freePort(), viewGrpc: await freePort() };
  let fed = await feed(ports, 'browser-1');
  t.after(() => fed.stop());
  const base = fed.app.urls.wall;

  const profile = await mkdtemp(join(tmpdir(), 'iocbus-chromium-'));
  t.after(() => rm(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1920, height: 1080 },
  });
  t.after(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));

  await page.goto(`${base}?lang=vi`);
  await page.waitForFunction(
    () => document.body.dataset.connection === 'live' && Number(document.querySelector('[data-k="received|day|province|value"]')?.textContent?.replace(/\D/g, '') || 0) > 0,
    null,
    { timeout: 60_000 },
  );
  assert.equal(await page.locator('#conn-text').textContent(), 'Trực tiếp');

  // Live: the received count grows while the feed runs, through the replayed morning and after it.
  await waitFor(() => fed.sim.now >= CAUGHT_UP, { timeoutMs: 120_000, message: 'the morning to be replayed' });
  const before = await page.locator('[data-k="received|day|province|value"]').textContent();
  await page.waitForFunction((b) => document.querySelector('[data-k="received|day|province|value"]')?.textContent !== b, before, { timeout: 30_000 });

  // A stable moment: the feed and the simulated clock stop; the page must then equal the API exactly.
  fed.paused.value = true;
  const checked = await assertPageMatchesApi(page, base, 'vi');
  assert.ok(checked >= 60, `compared ${checked} numbers`);
  assert.equal(await page.locator('#rank-ontime li:not(.empty)').count(), 6, 'six units in the on-time ranking');
  const minutes = (await (await fetch(`${base}wall/minutes.json`)).json()) as { received: number[]; resolved: number[] };
  const rolling = await api(base);
  assert.equal(minutes.received.reduce((a, b) => a + b, 0), rolling.get('received|rolling_1h|province|')?.value, 'the minute bars add up to the rolling hour');
  assert.ok((await page.locator('#spark-received rect').count()) > 0, 'the last hour is drawn');
  assert.equal(await page.locator('#banner').isHidden(), true);
  await page.screenshot({ path: join(ARTIFACTS, 'wall.png') });

  // English, same numbers in English notation.
  await page.click('#lang');
  await page.waitForFunction(() => document.body.dataset.lang === 'en');
  assert.equal(await page.locator('#conn-text').textContent(), 'Live');
  await assertPageMatchesApi(page, base, 'en');
  await page.screenshot({ path: join(ARTIFACTS, 'wall-en.png') });
  await page.click('#lang');
  await page.waitForFunction(() => document.body.dataset.lang === 'vi');

  // The server goes away: the page says so plainly and keeps the last numbers.
  const lastReceived = await page.locator('[data-k="received|day|province|value"]').textContent();
  await fed.stop();
  await page.waitForFunction(() => document.body.dataset.connection === 'reconnecting', null, { timeout: 20_000 });
  assert.equal(await page.locator('#banner').isVisible(), true);
  assert.match((await page.locator('#banner-title').textContent()) ?? '', /Mất kết nối — đang kết nối lại/);
  assert.equal(await page.locator('[data-k="received|day|province|value"]').textContent(), lastReceived);
  await page.screenshot({ path: join(ARTIFACTS, 'wall-disconnected.png') });

  // A server comes back on the same port (a new in-process history): the page recovers by itself.
  fed = await feed(ports, 'browser-2');
  await page.waitForFunction(() => document.body.dataset.connection === 'live', null, { timeout: 60_000 });
  await waitFor(() => fed.sim.now >= CAUGHT_UP, { timeoutMs: 120_000, message: 'the morning to be replayed again' });
  assert.equal(await page.locator('#banner').isHidden(), true);
  await page.waitForFunction(() => Number(document.querySelector('[data-k="received|day|province|value"]')?.textContent?.replace(/\D/g, '') || 0) > 0, null, { timeout: 30_000 });
  fed.paused.value = true;
  await assertPageMatchesApi(page, fed.app.urls.wall, 'vi');
  await page.screenshot({ path: join(ARTIFACTS, 'wall-recovered.png') });
  assert.deepEqual(errors, [], 'no script errors on the page');
});
