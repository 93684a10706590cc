import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BusError, BusErrorCode, type EventLog } from '@iocbus/bus';
import { loadSampleCatalog } from '@iocbus/catalog/file';
import { createHttpIngestClient } from '../ingest-client/http.js';
import type { IngestClient } from '../ingest-client/outcome.js';
import { main } from '../main.js';
import { ProvinceSimulator, SAMPLE_PROFILE_PATH, loadProfileFile } from '../simulator/index.js';
import { freePort, startLocalGateway } from '../test-support.js';
import { Progress } from '../util/progress.js';
import { publishFile } from './publish.js';
import { readState } from './state.js';

const START = Date.parse('2025-07-08T06:00:00+07:00');

interface Fixture {
  path: string;
  dir: string;
  /** `source id` of every valid event in the file (each once). */
  valid: Set<string>;
  bad: Map<number, RegExp>;
  lines: number;
}

/** An NDJSON file of simulated events with bad lines at known places, a blank line and a repeated event. */
async function fixture(t: TestContext, count = 60): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'iocbus-publish-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const catalog = await loadSampleCatalog();
  const sim = new ProvinceSimulator({ catalog, profile: await loadProfileFile(SAMPLE_PROFILE_PATH, catalog), seed: 'publish', startMs: START });
  const events = sim.advanceTo(START + 86_400_000, count).map((e) => e.event);
  assert.equal(events.length, count);
  const out: string[] = [];
  const valid = new Set<string>();
  const bad = new Map<number, RegExp>();
  let next = 0;
  const take = () => {
    const e = events[next++] as (typeof events)[number];
    valid.add(`${e.source} ${e.id}`);
    return JSON.stringify(e);
  };
  while (next < events.length) {
    const n = out.length + 1;
    if (n === 3) {
      out.push('{"specversion": "1.0", "id": ');
      bad.set(n, /not valid JSON/);
    } else if (n === 8) {
      out.push(JSON.stringify({ ...events[next++], time: '2025-07-08T08:00:00' }));
      bad.set(n, /\$\.time: .*no UTC offset/);
    } else if (n === 15) {
      out.push(JSON.stringify({ ...events[next++], type: 'vn.gov.tthc.dossier.teleported' }));
      bad.set(n, /\$\.type: .*expected a known dossier event type/);
    } else if (n === 22) {
      out.push('   ');
    } else if (n === 27) {
      out.push(out[25] as string); // line 26 again: a duplicate, not a reject
    } else if (n === 31) {
      const e = events[next++] as (typeof events)[number];
      out.push(JSON.stringify({ ...e, subject: 'not-the-dossier' }));
      bad.set(n, /\$\.subject: .*expected the dossier code/);
    } else {
      out.push(take());
    }
  }
  const path = join(dir, 'events.ndjson');
  await writeFile(path, `${out.join('\r\n')}\n`);
  return { path, dir, valid, bad, lines: out.length };
}

async function rejectsOf(path: string): Promise<{ line: number; code: string; reason: string; problems: { path: string }[]; text: string }[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function assertRejects(rejects: Awaited<ReturnType<typeof rejectsOf>>, f: Fixture): void {
  assert.deepEqual(rejects.map((r) => r.line), [...f.bad.keys()]);
  for (const r of rejects) {
    assert.match(r.reason, f.bad.get(r.line) as RegExp, `line ${r.line}`);
    assert.ok(r.text.length > 0, 'the rejected line is kept so it can be fixed and sent again');
  }
}

test('iocbus publish sends the good lines once and reports exactly the bad lines with their reasons', async (t) => {
  const gw = await startLocalGateway();
  t.after(() => gw.close());
  const f = await fixture(t);
  const code = await main(['publish', f.path, '--http', gw.url, '--api-key', gw.apiKey, '--batch', '7', '--quiet']);
  assert.equal(code, 3, 'exit status 3: some lines were rejected');
  assertRejects(await rejectsOf(`${f.path}.rejects.ndjson`), f);
  const rejects = await rejectsOf(`${f.path}.rejects.ndjson`);
  assert.equal(rejects.find((r) => r.line === 3)?.code, 'IOC_CLI_MALFORMED_JSON');
  assert.equal(rejects.find((r) => r.line === 15)?.code, 'IOC_GATEWAY_VALIDATION');
  const onTopic = await gw.topicKeys();
  assert.equal(onTopic.length, f.valid.size, 'every good event once, nothing else');
  assert.deepEqual(new Set(onTopic), f.valid);
  const state = await readState(`${f.path}.publish-state.json`);
  assert.equal(state?.done, true);
  assert.deepEqual(state?.counts, { lines: f.lines - 1, blank: 1, accepted: f.valid.size, duplicate: 1, rejected: f.bad.size });
});

test('the same file over gRPC gives the same rejects and the same topic', async (t) => {
  const gw = await startLocalGateway();
  t.after(() => gw.close());
  const f = await fixture(t, 30);
  const code = await main(['publish', f.path, '--grpc', gw.grpcAddress, '--api-key', gw.apiKey, '--quiet']);
  assert.equal(code, 3);
  assertRejects(await rejectsOf(`${f.path}.rejects.ndjson`), f);
  assert.deepEqual(new Set(await gw.topicKeys()), f.valid);
  assert.equal((await gw.topicKeys()).length, f.valid.size);
});

test('an interrupted publish resumes where it stopped: nothing lost, nothing doubled, each reject once', async (t) => {
  const gw = await startLocalGateway();
  t.after(() => gw.close());
  const f = await fixture(t);
  const http = createHttpIngestClient({ url: gw.url, apiKey: gw.apiKey });
  const abort = new AbortController();
  let sends = 0;
  // Interrupted while the third batch is in flight: the gateway takes it, the publisher never records it.
  const flaky: IngestClient = {
    target: http.target,
    close: () => http.close(),
    async send(events, signal) {
      const answer = await http.send(events, signal);
      if (++sends === 3) {
        abort.abort(new Error('interrupted'));
        throw abort.signal.reason;
      }
      return answer;
    },
  };
  await assert.rejects(publishFile({ file: f.path, client: flaky, batchSize: 10, signal: abort.signal }));
  const stopped = await readState(`${f.path}.publish-state.json`);
  assert.ok(stopped !== undefined && !stopped.done);
  assert.ok(stopped.nextLine > 1 && stopped.nextLine < f.lines, `stopped at line ${stopped.nextLine}`);
  const onTopicBefore = (await gw.topicKeys()).length;
  assert.ok(onTopicBefore > (stopped.nextLine - 1) - f.bad.size, 'the unrecorded batch reached the topic');

  // Without --resume an unfinished run is not silently restarted.
  await assert.rejects(publishFile({ file: f.path, client: http, batchSize: 10 }), /--resume to continue it or --restart/);
  const summary = await publishFile({ file: f.path, client: http, batchSize: 10, resume: true });
  assert.equal(summary.startLine, stopped.nextLine);
  assert.equal(summary.rejected, f.bad.size);
  assert.equal(summary.accepted + summary.duplicate, f.valid.size + 1, 'the re-sent batch comes back duplicate');
  assertRejects(await rejectsOf(`${f.path}.rejects.ndjson`), f);
  const onTopic = await gw.topicKeys();
  assert.equal(onTopic.length, f.valid.size);
  assert.deepEqual(new Set(onTopic), f.valid);

  // A resume against another file is refused rather than skipping the wrong lines.
  const other = await fixture(t, 20);
  await writeFile(`${other.path}.publish-state.json`, await readFile(`${f.path}.publish-state.json`));
  const state = await readState(`${other.path}.publish-state.json`);
  await writeFile(`${other.path}.publish-state.json`, JSON.stringify({ ...state, done: false }));
  await appendFile(other.path, '\n'.repeat(100_000)); // long enough that only its content differs
  await assert.rejects(publishFile({ file: other.path, client: http, resume: true }), /not the file the previous run read/);
});

test('429 with Retry-After, 503 and a gateway not yet listening are retried until every event is in', async (t) => {
  const port = await freePort();
  let failures = 2;
  const wrapLog = (log: EventLog): EventLog => ({
    close: () => log.close(),
    async append(topic, records) {
      if (failures-- > 0) throw new BusError(BusErrorCode.Unavailable, 'broker not reachable (injected)');
      return log.append(topic, records);
    },
  });
  const f = await fixture(t, 40);
  const messages: string[] = [];
  const progress = new Progress({ stream: { isTTY: false, write: (s: string) => messages.push(s) }, lineIntervalMs: 60_000 });
  let gw: Awaited<ReturnType<typeof startLocalGateway>> | undefined;
  t.after(() => gw?.close());
  // The key is only known once the gateway exists, so the client reads it late.
  const late: IngestClient = {
    target: `http://127.0.0.1:${port}`,
    close: async () => {},
    async send(events, signal) {
      if (gw === undefined && messages.some((m) => m.includes('network error'))) {
        gw = await startLocalGateway({ httpPort: port, wrapLog, rate: { eventsPerSecond: 25, burst: 10 } });
      }
      return createHttpIngestClient({ url: `http://127.0.0.1:${port}`, apiKey: gw?.apiKey ?? 'nobody.x' }).send(events, signal);
    },
  };
  const summary = await publishFile({
    file: f.path,
    client: late,
    batchSize: 10,
    progress,
    retry: { initialDelayMs: 50, maxDelayMs: 2000, giveUpAfterMs: 30_000 },
  });
  const log = messages.join('');
  assert.match(log, /network error: ECONNREFUSED/);
  assert.match(log, /HTTP 503 IOC_GATEWAY_/);
  assert.match(log, /HTTP 429 IOC_GATEWAY_RATE_LIMITED/);
  assert.equal(summary.rejected, f.bad.size);
  const onTopic = await (gw as NonNullable<typeof gw>).topicKeys();
  assert.equal(onTopic.length, f.valid.size);
  assert.deepEqual(new Set(onTopic), f.valid);
});
