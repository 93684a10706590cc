/**
 * The fan-out benchmark's clients, in their own process so they do not share the view's event loop:
 * opens N Server-Sent-Events streams on the view and, for every value of the watched indicator, reports when
 * each stream received it (absolute ms, sub-ms precision) as one JSON line on stdout.
 *
 *   node --import tsx bench/pipeline-subscribers.ts <port> <count> <path>
 * stdout: {"connected":n} once every stream answered, then {"value":v,"times":[…]} per value
 * (emitted once every stream saw it, or after 5 s with those that did).
 */
import { request, Agent } from 'node:http';

const [portText, countText, path] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
if (!Number.isInteger(port) || !Number.isInteger(count) || path === undefined) throw new Error('usage: pipeline-subscribers.ts <port> <count> <path>');

const now = (): number => performance.timeOrigin + performance.now();
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const seen = new Map<number, { times: number[]; timer: NodeJS.Timeout }>();
let connected = 0;

function flush(value: number): void {
  const s = seen.get(value);
  if (s === undefined) return;
  clearTimeout(s.timer);
  seen.delete(value);
  process.stdout.write(`${JSON.stringify({ value, times: s.times })}\n`);
}

function received(value: number, at: number): void {
  let s = seen.get(value);
  if (s === undefined) {
    s = { times: [], timer: setTimeout(() => flush(value), 5000) };
    seen.set(value, s);
  }
  s.times.push(at);
  if (s.times.length === count) flush(value);
}

function watch(values: unknown, at: number): void {
  if (!Array.isArray(values)) return;
  for (const v of values as { indicator?: string; scope?: { kind?: string }; window?: { kind?: string; current?: boolean }; value?: unknown }[]) {
    if (v.indicator === 'received' && v.scope?.kind === 'province' && v.window?.kind === 'day' && v.window.current === true && typeof v.value === 'number') received(v.value, at);
  }
}

function open(): void {
  const req = request({ host: '127.0.0.1', port, path, agent, headers: { accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) throw new Error(`stream answered ${res.statusCode}`);
    if (++connected === count) process.stdout.write(`${JSON.stringify({ connected })}\n`);
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk: string) => {
      const at = now();
      buf += chunk;
      for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (event === 'delta' && data !== '') watch((JSON.parse(data) as { values?: unknown }).values, at);
      }
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
