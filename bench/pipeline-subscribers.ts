/**
 * The fan-out benchmark's clients, in their own process so they do not share the view's event loop:
 * opens N Server-Sent-Events streams on the view and, for every value of the watched indicator, reports when
 * each stream received it (absolute ms, sub-ms precision) as one JSON line on stdout, with what receiving cost
 * this process: all N streams' chunks are taken in one at a time on one event loop, so the last stream's time
 * includes the client's own work on the streams before it.
 *
 *   node --import tsx bench/pipeline-subscribers.ts <port> <count> <path>
 * stdout: {"connected":n} once every stream answered, then per value
 * {"value":v,"times":[…],"handlerMs":…,"cpuMs":…} (emitted once every stream saw it, or after 5 s with those
 * that did): `handlerMs` is the time spent inside this file's data handlers for that value, `cpuMs` the whole
 * process's CPU time (HTTP parsing, socket reads, handlers) from the first stream's receipt to the last one's.
 */
import { request, Agent } from 'node:http';
import { onSseBlocks } from './sse-blocks.js';

const [portText, countText, path] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
if (!Number.isInteger(port) || !Number.isInteger(count) || path === undefined) throw new Error('usage: pipeline-subscribers.ts <port> <count> <path>');

const now = (): number => performance.timeOrigin + performance.now();
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
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
  process.stdout.write(`${JSON.stringify({ value, times: s.times, handlerMs: s.handlerMs, cpuMs: s.cpuAtLast - s.cpuAtFirst })}\n`);
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

// The filter the bench subscribes with yields one value (today's province `received`), so a delta's only
// "value" is it: read with a pattern rather than a JSON parse, to keep the client's share small.
const VALUE = /"value":(\d+)/;

function open(): void {
  const req = request({ host: '127.0.0.1', port, path, agent, headers: { accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) throw new Error(`stream answered ${res.statusCode}`);
    if (++connected === count) process.stdout.write(`${JSON.stringify({ connected })}\n`);
    onSseBlocks(res, (block, at) => {
      if (!block.includes('\nevent: delta\n')) return;
      const m = VALUE.exec(block);
      if (m !== null) received(Number(m[1]), at, now() - at);
    });
  });
  req.on('error', (err) => {
    process.stderr.write(`subscriber: ${err.message}\n`);
    process.exit(1);
  });
  req.end();
}

// Open in waves so the view's accept queue is not flooded at once.
for (let i = 0; i < count; i += 100) {
  for (let j = i; j < Math.min(count, i + 100); j++) open();
  await new Promise((r) => setTimeout(r, 50));
}
process.on('SIGTERM', () => process.exit(0));
