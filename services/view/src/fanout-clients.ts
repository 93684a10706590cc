/**
 * Child process of the fan-out harness (fanout.ts): opens many Subscribe streams with a grpc-js client
 * built from the .proto, plus streams that never read, and records when each stream first holds each
 * update. Runs apart from the server so client work does not count as server time, and so the server's
 * memory can be measured alone. Talks to the parent over IPC only.
 */
import { connect, type ClientHttp2Session } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { loadIndicatorsPackage, serializerOf } from './proto.js';

interface Start {
  type: 'start';
  port: number;
  subscribers: number;
  stuck: number;
  /** Streams per HTTP/2 connection for the reading subscribers. */
  perChannel: number;
  filter: unknown;
  stuckFilter: unknown;
  /** Value key whose `value` is the update number. */
  key: string;
}

type Message = Start | { type: 'finish' };

const now = (): number => Date.now();

const Service = (
  grpc.loadPackageDefinition(loadIndicatorsPackage()) as unknown as {
    iocbus: { indicators: { v1: { IndicatorService: grpc.ServiceClientConstructor } } };
  }
).iocbus.indicators.v1.IndicatorService;

interface Value {
  indicatorId: string;
  window: { kind: string; label: string };
  scope: { kind: string; key: string };
  value?: number;
}
interface Response {
  kind: string;
  snapshot?: { values?: Value[] };
  delta?: { values?: Value[] };
}

const keyOf = (v: Value): string => `${v.indicatorId}|${v.window.kind}:${v.window.label}|${v.scope.kind}:${v.scope.key}`;

const clients: grpc.Client[] = [];
const calls: grpc.ClientReadableStream<Response>[] = [];
/** Per reading stream: receive time of the first message holding update j (index j). */
const seen: number[][] = [];
let errors = 0;
let snapshots = 0;

function client(port: number, own: boolean): grpc.Client {
  // A stuck stream gets a connection of its own, as a separate screen would: HTTP/2 flow control is also
  // per connection, and a stream nobody reads must not be able to stall its neighbours' connection.
  const c = new Service(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': own ? 1 : 0,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  clients.push(c);
  return c;
}

function start(m: Start): void {
  let channel: grpc.Client | undefined;
  for (let i = 0; i < m.subscribers; i++) {
    if (i % m.perChannel === 0) channel = client(m.port, true);
    const call = (channel as unknown as { subscribe(req: unknown): grpc.ClientReadableStream<Response> }).subscribe({ filter: m.filter });
    const times: number[] = [];
    seen.push(times);
    let max = 0;
    let snapshot = false;
    call.on('data', (r: Response) => {
      const at = now();
      const values = r.snapshot?.values ?? r.delta?.values ?? [];
      if (r.kind === 'snapshot' && !snapshot) {
        snapshot = true;
        if (++snapshots === m.subscribers) process.send?.({ type: 'ready' });
      }
      for (const v of values) {
        if (keyOf(v) !== m.key || v.value === undefined) continue;
        for (let j = max + 1; j <= v.value; j++) times[j] = at;
        max = Math.max(max, v.value);
      }
    });
    call.on('error', () => errors++);
    calls.push(call);
  }
  for (let i = 0; i < m.stuck; i++) stuckStream(m.port, m.stuckFilter);
}

const sessions: ClientHttp2Session[] = [];

/**
 * A subscriber that never reads, at the transport level: a raw HTTP/2 gRPC request whose response
 * stream is paused before any byte is read, as a frozen screen or a hung peer would behave. (A grpc-js
 * client without a 'data' listener is not that: grpc-js keeps reading from HTTP/2 into an unbounded
 * queue of its own, so the server would see a fast reader.) Node stops granting HTTP/2 flow-control
 * window to a stream whose readable side is full, so the server's writes back up.
 */
function stuckStream(port: number, filter: unknown): void {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  sessions.push(session);
  const body = serializerOf('SubscribeRequest')({ filter });
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const req = session.request({
    ':method': 'POST',
    ':path': '/iocbus.indicators.v1.IndicatorService/Subscribe',
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  req.on('error', () => {});
  req.pause();
  req.end(frame);
}

process.on('message', (m: Message) => {
  if (m.type === 'start') start(m);
  if (m.type === 'finish') {
    process.send?.({ type: 'result', seen, errors }, () => {
      for (const c of calls) c.cancel();
      for (const c of clients) c.close();
      for (const s of sessions) s.destroy();
      process.exit(0);
    });
  }
});
process.send?.({ type: 'up' });
