/**
 * Fan-out to subscribers, transport-agnostic (gRPC and SSE plug in a Sink).
 *
 * A subscriber is a cursor into the shared change log plus a small ordered queue (snapshot chunks, a
 * reset). When it can be written to, it is sent the current value of every key changed since its cursor:
 * coalesced, latest only. A write that returns false blocks that subscriber until its sink drains; nothing
 * accumulates for it meanwhile except its cursor position, so a stuck client costs bounded memory and
 * never delays anyone else. Subscribers with the same filter form a group and share built and encoded
 * messages.
 */
import type { CompiledFilter } from './filter.js';
import { ViewError } from './errors.js';
import { OutMessage, type MessageBody, type ResetCause } from './messages.js';
import type { RemovedKey, ViewValue } from './model.js';
import type { ViewCore } from './core.js';
import type { ResumeToken } from './token.js';

export type Transport = 'grpc' | 'sse';

export interface Sink {
  readonly transport: Transport;
  /** False: the transport's buffer is full; wait for onDrain before writing again. */
  write(message: OutMessage): boolean;
  /** Called once, the next time the sink drains. */
  onDrain(callback: () => void): void;
  /** Ends the stream after everything written so far (with an error status when given). */
  end(error?: ViewError): void;
  /** Drops the stream now; nothing buffered will be delivered. */
  abort(error: ViewError): void;
}

export interface HubOptions {
  core: ViewCore;
  now: () => number;
  /** Idle subscribers get a heartbeat after this long without a message. */
  heartbeatMs: number;
  /** Values per snapshot or delta message. */
  chunkValues: number;
  maxSubscribers: number;
  /** Streams end (UNAVAILABLE, resume with the last token) after this, ±10 % so reconnects spread. */
  maxStreamAgeMs: number;
  /** A subscriber blocked this long is dropped. */
  stallTimeoutMs: number;
  /** How long a token ahead of this instance waits for it to catch up before a reset. */
  catchUpTimeoutMs: number;
  /** Applied when a subscriber asks for none (0 = unlimited). */
  defaultMaxUpdatesPerSecond: number;
  /** Upper bound on what a subscriber may ask for (0 = no bound). */
  maxUpdatesPerSecondCap: number;
  metrics?: HubMetrics;
  /** Watermark and progress for heartbeats and snapshots. */
  progress(): { watermarkMs: number | null; progressTimeMs: number | null };
}

export interface HubMetrics {
  sent(transport: Transport, kind: MessageBody['kind'], bytes: number): void;
  reset(cause: ResetCause): void;
  ended(transport: Transport, reason: 'client' | 'max_age' | 'stalled' | 'shutdown'): void;
}

export interface SubscribeOptions {
  filter: CompiledFilter;
  resumeToken?: string;
  maxUpdatesPerSecond?: number;
}

type Phase = 'waiting' | 'live' | 'closed';

export class Subscriber {
  cursor = 0;
  lastToken = '';
  readonly queue: OutMessage[] = [];
  blocked = false;
  blockedSinceMs = 0;
  lastWriteAtMs: number;
  lastDeltaAtMs = -Infinity;
  phase: Phase = 'live';
  rateTimer: NodeJS.Timeout | undefined;
  ageTimer: NodeJS.Timeout | undefined;
  waitTimer: NodeJS.Timeout | undefined;
  pendingResumeText = '';
  /** Messages handed to the sink (for tests and metrics). */
  written = 0;

  constructor(
    readonly id: number,
    readonly group: Group,
    readonly sink: Sink,
    readonly minGapMs: number,
    readonly startedAtMs: number,
  ) {
    this.lastWriteAtMs = startedAtMs;
  }
}

/** Subscribers sharing a filter, and the messages built for them at the current head. */
class Group {
  readonly subscribers = new Set<Subscriber>();
  private cacheSeq = -1;
  private cacheHead: unknown;
  private deltas = new Map<number, OutMessage[] | undefined>();
  private resumes = new Map<string, OutMessage[]>();
  private snapshotMessages: OutMessage[] | undefined;
  private heartbeat: { at: number; token: string; message: OutMessage } | undefined;

  constructor(
    readonly filter: CompiledFilter,
    private readonly hub: Hub,
  ) {}

  private fresh(): void {
    const log = this.hub.core.log;
    if (this.cacheSeq === log.seq && this.cacheHead === log.headState) return;
    this.cacheSeq = log.seq;
    this.cacheHead = log.headState;
    this.deltas = new Map();
    this.resumes = new Map();
    this.snapshotMessages = undefined;
  }

  snapshot(): OutMessage[] {
    this.fresh();
    if (this.snapshotMessages !== undefined) return this.snapshotMessages;
    const core = this.hub.core;
    const values = core.snapshot(this.filter);
    const { watermarkMs } = this.hub.options.progress();
    const size = this.hub.options.chunkValues;
    const out: OutMessage[] = [];
    const incomplete = core.tokenFor(core.log.headState, this.filter, true);
    for (let i = 0; i === 0 || i < values.length; i += size) {
      const more = i + size < values.length;
      const token = more ? incomplete : core.headToken(this.filter);
      out.push(new OutMessage(token, { kind: 'snapshot', values: values.slice(i, i + size), watermarkMs, more }));
    }
    this.snapshotMessages = out;
    return out;
  }

  /** Messages taking a subscriber at `cursor` to the head; undefined when the log no longer reaches back. */
  deltaFrom(cursor: number, fallbackToken: string): OutMessage[] | undefined {
    this.fresh();
    if (this.deltas.has(cursor)) return this.deltas.get(cursor);
    const core = this.hub.core;
    const segments = core.log.since(cursor);
    let out: OutMessage[] | undefined;
    if (segments !== undefined) {
      const keys = new Set<string>();
      for (const s of segments) for (const k of s.keys) keys.add(k);
      const { values, removed } = core.resolveKeys(keys, this.filter);
      const at = core.log.stateAt(cursor);
      out = this.chunked(values, removed, at === undefined ? fallbackToken : core.tokenFor(at, this.filter), false);
    }
    this.deltas.set(cursor, out);
    return out;
  }

  /** Messages taking a client from a resume token to the head (always at least one, possibly empty). */
  resumeFrom(token: ResumeToken, text: string): OutMessage[] {
    this.fresh();
    const hit = this.resumes.get(text);
    if (hit !== undefined) return hit;
    const { values, removed } = this.hub.core.changedSince(token, this.filter);
    const out = this.chunked(values, removed, text, true);
    this.resumes.set(text, out);
    return out;
  }

  /** Intermediate chunks carry the token the client already holds: resuming from it resends a superset. */
  private chunked(values: ViewValue[], removed: RemovedKey[], fromToken: string, always: boolean): OutMessage[] {
    if (values.length === 0 && removed.length === 0 && !always) return [];
    const core = this.hub.core;
    const size = this.hub.options.chunkValues;
    const out: OutMessage[] = [];
    const total = values.length + removed.length;
    for (let i = 0; i === 0 || i < total; i += size) {
      const last = i + size >= total;
      const vs = values.slice(i, i + size);
      const rs = removed.slice(Math.max(0, i - values.length), Math.max(0, i + size - values.length));
      out.push(new OutMessage(last ? core.headToken(this.filter) : fromToken, { kind: 'delta', values: vs, removed: rs }));
    }
    return out;
  }

  heartbeatAt(sub: Subscriber, now: number): OutMessage {
    const core = this.hub.core;
    const token = sub.cursor >= core.log.seq ? core.headToken(this.filter) : sub.lastToken;
    if (this.heartbeat !== undefined && this.heartbeat.at === now && this.heartbeat.token === token) return this.heartbeat.message;
    const { watermarkMs, progressTimeMs } = this.hub.options.progress();
    const message = new OutMessage(token, { kind: 'heartbeat', watermarkMs, serverTimeMs: now, progressTimeMs });
    this.heartbeat = { at: now, token, message };
    return message;
  }
}

export interface HubStats {
  subscribers: number;
  blocked: number;
  waiting: number;
  byTransport: Record<Transport, number>;
}

export class Hub {
  readonly core: ViewCore;
  private readonly groups = new Map<string, Group>();
  private readonly all = new Set<Subscriber>();
  private readonly waiting = new Set<Subscriber>();
  private nextId = 1;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private writes = 0;

  constructor(readonly options: HubOptions) {
    this.core = options.core;
  }

  /** Starts the heartbeat and stall timer (half the heartbeat interval, so idle gaps stay under 1.5×). */
  start(): void {
    this.heartbeatTimer ??= setInterval(() => this.tick(), Math.max(10, Math.floor(this.options.heartbeatMs / 2)));
    this.heartbeatTimer.unref();
  }

  stats(): HubStats {
    const byTransport: Record<Transport, number> = { grpc: 0, sse: 0 };
    let blocked = 0;
    for (const s of this.all) {
      byTransport[s.sink.transport]++;
      if (s.blocked) blocked++;
    }
    return { subscribers: this.all.size, blocked, waiting: this.waiting.size, byTransport };
  }

  subscribe(sink: Sink, options: SubscribeOptions): Subscriber {
    if (this.closing) throw new ViewError('IOC_VIEW_SHUTTING_DOWN', 'the view is shutting down');
    if (this.all.size >= this.options.maxSubscribers) {
      throw new ViewError('IOC_VIEW_TOO_MANY_SUBSCRIBERS', `this view already serves ${this.options.maxSubscribers} streams`);
    }
    const filter = options.filter;
    let group = this.groups.get(filter.canonical);
    if (group === undefined) {
      group = new Group(filter, this);
      this.groups.set(filter.canonical, group);
    }
    const now = this.options.now();
    const sub = new Subscriber(this.nextId++, group, sink, this.minGapMs(options.maxUpdatesPerSecond), now);
    group.subscribers.add(sub);
    this.all.add(sub);
    const jitter = 0.9 + Math.random() * 0.2;
    sub.ageTimer = setTimeout(() => this.finish(sub, 'max_age'), Math.round(this.options.maxStreamAgeMs * jitter));
    sub.ageTimer.unref();
    if (options.resumeToken !== undefined && options.resumeToken !== '') this.resume(sub, options.resumeToken);
    else this.startFresh(sub);
    return sub;
  }

  private minGapMs(asked: number | undefined): number {
    let rate = asked !== undefined && asked > 0 ? asked : this.options.defaultMaxUpdatesPerSecond;
    const cap = this.options.maxUpdatesPerSecondCap;
    if (cap > 0 && (rate === 0 || rate > cap)) rate = cap;
    return rate > 0 ? 1000 / rate : 0;
  }

  private startFresh(sub: Subscriber, reset?: { cause: ResetCause; reason: string }): void {
    const core = this.core;
    if (reset !== undefined) {
      this.options.metrics?.reset(reset.cause);
      sub.queue.push(new OutMessage(core.tokenFor(core.log.headState, sub.group.filter, true), { kind: 'reset', ...reset }));
    }
    sub.queue.push(...sub.group.snapshot());
    sub.cursor = core.log.seq;
    sub.phase = 'live';
    this.pump(sub);
  }

  private resume(sub: Subscriber, text: string): void {
    const check = this.core.checkToken(text, sub.group.filter);
    if (check.kind === 'reset') {
      this.startFresh(sub, { cause: check.cause, reason: check.reason });
      return;
    }
    if (check.kind === 'ahead') {
      sub.phase = 'waiting';
      sub.pendingResumeText = text;
      this.waiting.add(sub);
      sub.waitTimer = setTimeout(() => {
        if (sub.phase !== 'waiting') return;
        this.waiting.delete(sub);
        this.startFresh(sub, { cause: 'token_ahead', reason: `this server did not reach the token's position within ${this.options.catchUpTimeoutMs} ms` });
      }, this.options.catchUpTimeoutMs);
      sub.waitTimer.unref();
      return;
    }
    sub.queue.push(...sub.group.resumeFrom(check.token, text));
    sub.cursor = this.core.log.seq;
    sub.phase = 'live';
    this.pump(sub);
  }

  /** After core.publish(): bring every subscriber that can be written to up to the head. Returns the messages written. */
  published(): number {
    const before = this.writes;
    for (const sub of [...this.waiting]) {
      const check = this.core.checkToken(sub.pendingResumeText, sub.group.filter);
      if (check.kind === 'ahead') continue;
      this.waiting.delete(sub);
      clearTimeout(sub.waitTimer);
      this.resume(sub, sub.pendingResumeText);
    }
    for (const group of this.groups.values()) for (const sub of group.subscribers) this.pump(sub);
    return this.writes - before;
  }

  private pump(sub: Subscriber): void {
    if (sub.phase !== 'live' || sub.blocked) return;
    for (;;) {
      while (sub.queue.length > 0) {
        if (!this.write(sub, sub.queue.shift() as OutMessage)) return;
      }
      const log = this.core.log;
      if (sub.cursor >= log.seq) return;
      const now = this.options.now();
      if (sub.minGapMs > 0 && now < sub.lastDeltaAtMs + sub.minGapMs) {
        if (sub.rateTimer === undefined) {
          sub.rateTimer = setTimeout(() => {
            sub.rateTimer = undefined;
            this.pump(sub);
          }, Math.ceil(sub.lastDeltaAtMs + sub.minGapMs - now));
          sub.rateTimer.unref();
        }
        return;
      }
      const messages = sub.group.deltaFrom(sub.cursor, sub.lastToken);
      if (messages === undefined) {
        this.startFresh(sub, { cause: 'too_far_behind', reason: 'this stream fell further behind than the server keeps changes for' });
        return;
      }
      sub.cursor = log.seq;
      if (messages.length > 0) {
        sub.lastDeltaAtMs = now;
        sub.queue.push(...messages);
      }
    }
  }

  private write(sub: Subscriber, message: OutMessage): boolean {
    this.writes++;
    sub.lastToken = message.token;
    sub.lastWriteAtMs = this.options.now();
    sub.written++;
    const ok = sub.sink.write(message);
    const m = this.options.metrics;
    if (m !== undefined) m.sent(sub.sink.transport, message.body.kind, sub.sink.transport === 'grpc' ? message.grpc().length : message.sse().length);
    if (!ok) {
      sub.blocked = true;
      sub.blockedSinceMs = sub.lastWriteAtMs;
      sub.sink.onDrain(() => {
        sub.blocked = false;
        this.pump(sub);
      });
    }
    return ok;
  }

  /** Heartbeats to idle subscribers; drops those stalled too long. */
  tick(): void {
    const now = this.options.now();
    for (const sub of this.all) {
      if (sub.phase !== 'live') continue;
      if (sub.blocked) {
        if (now - sub.blockedSinceMs > this.options.stallTimeoutMs) this.finish(sub, 'stalled');
        continue;
      }
      if (sub.queue.length > 0 || now - sub.lastWriteAtMs < this.options.heartbeatMs) continue;
      this.write(sub, sub.group.heartbeatAt(sub, now));
    }
  }

  /** The client went away. */
  remove(sub: Subscriber): void {
    if (sub.phase === 'closed') return;
    this.detach(sub);
    this.options.metrics?.ended(sub.sink.transport, 'client');
  }

  private detach(sub: Subscriber): void {
    sub.phase = 'closed';
    clearTimeout(sub.rateTimer);
    clearTimeout(sub.ageTimer);
    clearTimeout(sub.waitTimer);
    sub.queue.length = 0;
    this.all.delete(sub);
    this.waiting.delete(sub);
    sub.group.subscribers.delete(sub);
    if (sub.group.subscribers.size === 0) this.groups.delete(sub.group.filter.canonical);
  }

  /**
   * Ends a stream on the server's initiative. A writable subscriber first gets a heartbeat, so the token
   * it resumes with is as fresh as possible; a blocked one is dropped at once.
   */
  private finish(sub: Subscriber, reason: 'max_age' | 'stalled' | 'shutdown'): void {
    if (sub.phase === 'closed') return;
    const error =
      reason === 'max_age'
        ? new ViewError('IOC_VIEW_STREAM_MAX_AGE', 'the stream reached its maximum age; subscribe again with the last resume token')
        : reason === 'stalled'
          ? new ViewError('IOC_VIEW_SUBSCRIBER_STALLED', 'the client did not read for too long')
          : new ViewError('IOC_VIEW_SHUTTING_DOWN', 'the view is shutting down; subscribe again with the last resume token');
    const writable = sub.phase === 'live' && !sub.blocked && sub.queue.length === 0;
    if (writable && sub.cursor >= this.core.log.seq) sub.sink.write(sub.group.heartbeatAt(sub, this.options.now()));
    this.detach(sub);
    this.options.metrics?.ended(sub.sink.transport, reason);
    if (sub.blocked) sub.sink.abort(error);
    else sub.sink.end(error);
  }

  /** Ends every stream (UNAVAILABLE: resume elsewhere) and refuses new ones. */
  close(): void {
    this.closing = true;
    clearInterval(this.heartbeatTimer);
    for (const sub of [...this.all]) this.finish(sub, 'shutdown');
  }
}
