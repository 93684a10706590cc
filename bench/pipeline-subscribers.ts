/**
 * The fan-out benchmark's clients, in their own process so they do not share the view's event loop:
 * opens N Server-Sent-Events streams on the view and, for every value of the watched indicator, reports when
 * each stream received it (absolute ms, sub-ms precision) as one JSON line on stdout, with what receiving cost
 * this process: all N streams' reads are taken in one at a time on one event loop, so the last stream's time
 * includes the client's own work on the streams before it.
 *
 * Each stream is a client as a wall screen would be, minus the browser: it parses every event (`openSseStream`
 * in sse-blocks.ts: raw socket, HTTP/1.1 chunked body, SSE fields; the load generator's own cost should not be
 * what the bench measures, and node's http client cost ~2× this per read), JSON-parses every data field, and
 * checks the stream: a resume token on every event, a snapshot first, no reset, and the watched value (one per
 * filter here) rising in every delta. A violation ends the process with status 1.
 *
 *   node --import tsx bench/pipeline-subscribers.ts <port> <count> <path>
 * stdout: {"connected":n} once every stream holds its snapshot, then per value
 * {"value":v,"times":[…],"handlerMs":…,"cpuMs":…,"cpuTotalMs":…} (emitted once every stream saw it, or after 5 s with those
 * that did): `handlerMs` is the time from the socket reads that delivered that value to its event parsed and
 * checked (summed over streams), `cpuMs` the whole process's CPU time from the first stream's receipt to the last one's.
 */
import { openSseStream, type SseEvent } from './sse-blocks.js';

const [portText, countText, path] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
if (!Number.isInteger(port) || !Number.isInteger(count) || path === undefined) throw new Error('usage: pipeline-subscribers.ts <port> <count> <path>');
const streamPath: string = path;

const now = (): number => performance.timeOrigin + performance.now();
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
interface Seen {
  times: number[];
  handlerMs: number;
  cpuAtFirst: number;
  cpuAtLast: number;
  timer: NodeJS.Timeout;
}
const seen = new Map<number, Seen>();
let connected = 0;

function flush(value: number): void {
  const s = seen.get(value);
  if (s === undefined) return;
  clearTimeout(s.timer);
  seen.delete(value);
  process.stdout.write(`${JSON.stringify({ value, times: s.times, handlerMs: s.handlerMs, cpuMs: s.cpuAtLast - s.cpuAtFirst, cpuTotalMs: cpuMs() })}\n`);
}

function received(value: number, at: number, handlerMs: number): void {
  let s = seen.get(value);
  if (s === undefined) {
    const cpu = cpuMs();
    s = { times: [], handlerMs: 0, cpuAtFirst: cpu, cpuAtLast: cpu, timer: setTimeout(() => flush(value), 5000) };
    seen.set(value, s);
  }
  s.times.push(at);
  s.handlerMs += handlerMs;
  if (s.times.length === count) {
    s.cpuAtLast = cpuMs();
    flush(value);
  }
}

function broken(stream: number, what: string): never {
  process.stderr.write(`subscriber ${stream}: ${what}\n`);
  process.exit(1);
}

interface JsonValue {
  indicator: string;
  scope: { kind: string; code: string };
  value: number | null;
}

/** The watched value of a snapshot's or delta's values; the bench's filter yields exactly one. */
function watched(stream: number, values: unknown): number | undefined {
  if (!Array.isArray(values)) broken(stream, 'values is not an array');
  let out: number | undefined;
  for (const v of values as JsonValue[]) {
    if (v.indicator !== 'received' || v.scope?.kind !== 'province') broken(stream, `value outside the filter: ${JSON.stringify(v)}`);
    if (typeof v.value !== 'number') broken(stream, `received without a number: ${JSON.stringify(v)}`);
    out = v.value;
  }
  return out;
}

function open(stream: number): void {
  let snapshot = false;
  let last = -1;
  let lastId = '';
  openSseStream({
    host: '127.0.0.1',
    port,
    path: streamPath,
    onEvent(e: SseEvent, at: number) {
      if (e.id === '') broken(stream, `${e.event} without a resume token`);
      lastId = e.id;
      const body = JSON.parse(e.data) as { values?: unknown; more?: boolean };
      switch (e.event) {
        case 'snapshot': {
          const v = watched(stream, body.values);
          if (v !== undefined) last = v;
          if (body.more === false && !snapshot) {
            snapshot = true;
            if (++connected === count) process.stdout.write(`${JSON.stringify({ connected })}\n`);
          }
          break;
        }
        case 'delta': {
          if (!snapshot) broken(stream, 'delta before the snapshot');
          const v = watched(stream, body.values);
          if (v === undefined) break;
          if (v <= last) broken(stream, `value ${v} after ${last}`);
          last = v;
          received(v, at, now() - at);
          break;
        }
        case 'heartbeat':
          break;
        default:
          broken(stream, `unexpected ${e.event} event: ${e.data}`);
      }
    },
    onError(err: Error) {
      broken(stream, `${err.message} (last token ${lastId})`);
    },
    onEnd() {
      broken(stream, 'the server ended the stream');
    },
  });
}

// Open in waves so the view's accept queue is not flooded at once.
for (let i = 0; i < count; i += 100) {
  for (let j = i; j < Math.min(count, i + 100); j++) open(j);
  await new Promise((r) => setTimeout(r, 50));
}
process.on('SIGTERM', () => process.exit(0));
