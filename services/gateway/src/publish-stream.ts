import * as grpc from '@grpc/grpc-js';
import type { Principal } from './api-keys.js';
import { batchWrites } from './batched-writes.js';
import { refuseWhenClosing, type GatewayCore } from './core.js';
import { GatewayError, toGatewayError } from './errors.js';
import { principalOf, toProtoResult, toServiceError } from './grpc-common.js';
import type { Candidate, EventResult, IngestOutcome } from './ingest.js';
import { encodePlainAck, encodePlainAckFrames, rawFrameWriter, type PlainAckStatus, type RawFrameWriter } from './stream-ack.js';
import type { StreamRequest } from './stream-request.js';
import { takeOverReading, type StreamReader } from './stream-reader.js';

interface Group {
  firstSeq: number;
  count: number;
  outcome?: IngestOutcome | GatewayError;
}

/**
 * One PublishStream call. Messages read in the same turn of the event loop go to Kafka together; acks go
 * back strictly in sequence order. Flow control is real: once `streamMaxInFlight` events are unacknowledged
 * the session stops reading, so grpc-js stops pulling from the HTTP/2 stream and the client's sends block on
 * the flow-control window instead of piling up in this process. Over its rate limit, a stream is slowed the
 * same way (a FlowControl grant of 0 with retry_after_ms, then a fresh grant) rather than failed.
 */
export class PublishStreamSession {
  readonly startedAt = performance.now();
  private principal: Principal | undefined;
  private nextSeq = 1;
  private ackedThrough = 0;
  private unacked = 0;
  /** Read, not yet handed to the ingestor; their sequence numbers run up to nextSeq - 1. */
  private incoming: Candidate[] = [];
  private flushScheduled = false;
  private readonly groups: Group[] = [];
  private readPaused = false;
  private throttled = false;
  private writeBlocked = false;
  private halfClosed = false;
  private closing = false;
  private finished = false;
  private readonly window: number;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private raw: RawFrameWriter | undefined;
  /** Reads requests off the HTTP/2 stream (stream-reader.ts); undefined: through grpc-js's Readable. */
  private reader: StreamReader | undefined;

  constructor(
    private readonly core: GatewayCore,
    private readonly call: grpc.ServerDuplexStream<unknown, unknown>,
    private readonly onFinish: (code: grpc.status) => void,
    /** The request deserializer grpc-js was given, for reading straight off the HTTP/2 stream. */
    private readonly deserialize: (bytes: Buffer) => StreamRequest,
  ) {
    this.window = core.config.grpc.streamMaxInFlight;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(): void {
    batchWrites(this.call);
    this.raw = rawFrameWriter(this.call);
    if (this.raw === undefined && !warnedNoRawFrames) {
      warnedNoRawFrames = true;
      this.core.logger.warn('grpc-js internals are not as expected: PublishStream acks are written one by one');
    }
    this.call.on('cancelled', () => this.finish(grpc.status.CANCELLED));
    this.call.on('error', () => this.finish(grpc.status.CANCELLED));
    void (async () => {
      refuseWhenClosing(this.core);
      this.principal = await principalOf(this.core, this.call.metadata);
      this.grant(this.window);
      const onEnd = (): void => {
        this.halfClosed = true;
        this.maybeFinish();
      };
      this.reader = takeOverReading(
        this.call,
        { maxMessageBytes: this.core.config.grpc.maxMessageBytes, deserialize: this.deserialize },
        { message: (m) => this.onMessage(m), end: onEnd, error: (err) => this.fail(err) },
      );
      if (this.reader === undefined) {
        this.call.on('data', (message: StreamRequest) => this.onMessage(message));
        this.call.on('end', onEnd);
      }
      // Paused before there was a reader (shutdown while authenticating): stay paused.
      if (this.readPaused) this.reader?.pause();
    })().catch((err: unknown) => this.fail(toGatewayError(err)));
  }

  /** Graceful shutdown: read nothing more, answer what was read, then end with UNAVAILABLE. */
  shutdown(): Promise<void> {
    if (!this.finished) {
      this.closing = true;
      this.pauseReading();
      this.flush();
      this.maybeFinish();
    }
    return this.done;
  }

  private onMessage(message: StreamRequest): void {
    if (this.finished || this.closing) return;
    const seq = message.sequence;
    if (seq !== this.nextSeq) {
      this.fail(
        new GatewayError('IOC_GATEWAY_INVALID_STREAM', `expected sequence ${this.nextSeq}, got ${seq}`, {
          problems: [{ path: '$.sequence', message: `sequence: expected ${this.nextSeq}, got ${seq}` }],
        }),
      );
      return;
    }
    this.nextSeq++;
    this.unacked++;
    this.incoming.push(message.candidate);
    if (this.unacked >= this.window) this.pauseReading();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.finished || this.throttled || this.incoming.length === 0) return;
    const principal = this.principal as Principal;
    const decision = this.core.limiter.take(principal.keyId, principal.rate ?? this.core.config.limits.rate, this.incoming.length);
    if (!decision.ok) {
      this.throttle(decision.retryAfterMs);
      return;
    }
    const batch = this.incoming;
    this.incoming = [];
    const group: Group = { firstSeq: this.nextSeq - batch.length, count: batch.length };
    this.groups.push(group);
    this.core.ingestor
      .ingest(principal, batch, 'grpc')
      .then(
        (outcome) => (group.outcome = outcome),
        (err: unknown) => (group.outcome = toGatewayError(err)),
      )
      .finally(() => this.writeAcks());
  }

  private throttle(retryAfterMs: number): void {
    this.throttled = true;
    this.pauseReading();
    this.grant(0, retryAfterMs);
    setTimeout(() => {
      this.throttled = false;
      if (this.finished) return;
      if (!this.closing) this.grant(this.window);
      this.flush();
      this.maybeResume();
      this.maybeFinish();
    }, retryAfterMs).unref();
  }

  /**
   * Acks of accepted and duplicate events go out as one framed Buffer straight onto the HTTP/2 stream
   * (stream-ack.ts); the others through grpc-js, corked: one hand-over to HTTP/2 per burst (batched-writes.ts).
   */
  private writeAcks(): void {
    this.call.cork();
    try {
      this.writeReadyAcks();
    } finally {
      this.call.uncork();
    }
    this.maybeResume();
    this.maybeFinish();
  }

  private writeReadyAcks(): void {
    while (!this.finished && this.groups[0]?.outcome !== undefined) {
      const group = this.groups.shift() as Group;
      const outcome = group.outcome as IngestOutcome | GatewayError;
      if (outcome instanceof GatewayError) {
        this.fail(outcome);
        return;
      }
      const { results } = outcome;
      let i = 0;
      while (i < results.length) {
        const result = results[i];
        if (result === undefined || result.status === 'failed') {
          // Acks stop at the first event Kafka did not take; the client resends from there.
          this.fail(outcome.error ?? new GatewayError('IOC_GATEWAY_KAFKA_UNAVAILABLE', 'Kafka did not acknowledge the event'));
          return;
        }
        if (isPlain(result)) {
          let end = i + 1;
          while (end < results.length && isPlain(results[end])) end++;
          this.writePlainAcks(group.firstSeq, results, i, end);
          this.ackedThrough = group.firstSeq + end - 1;
          i = end;
        } else {
          const sequence = group.firstSeq + i;
          this.write({ ack: { sequence, result: toProtoResult(result) } });
          this.ackedThrough = sequence;
          i++;
        }
      }
      this.unacked -= group.count;
    }
  }

  /** Acks of accepted and duplicate events: one framed Buffer in one HTTP/2 write when possible (stream-ack.ts). */
  private writePlainAcks(firstSeq: number, results: readonly EventResult[], from: number, to: number): void {
    if (this.finished) return;
    const raw = this.raw;
    if (raw?.ready()) {
      if (!raw.write(encodePlainAckFrames(firstSeq, results, from, to)) && !this.writeBlocked) {
        this.writeBlocked = true;
        this.pauseReading();
        raw.onDrain(() => {
          this.writeBlocked = false;
          this.maybeResume();
        });
      }
      return;
    }
    for (let i = from; i < to; i++) {
      const r = results[i] as EventResult;
      this.write(encodePlainAck(firstSeq + i, r.id, r.source, r.status as PlainAckStatus));
    }
  }

  private grant(maxInFlight: number, retryAfterMs = 0): void {
    this.write({
      flowControl: {
        maxInFlight,
        ackedThrough: this.ackedThrough,
        maxEventBytes: this.core.config.grpc.maxMessageBytes,
        retryAfterMs,
      },
    });
  }

  private write(message: unknown): void {
    if (this.finished) return;
    if (!this.call.write(message) && !this.writeBlocked) {
      // The client is not reading its acks: stop reading its events until it does.
      this.writeBlocked = true;
      this.pauseReading();
      this.call.once('drain', () => {
        this.writeBlocked = false;
        this.maybeResume();
      });
    }
  }

  private pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    if (this.reader !== undefined) this.reader.pause();
    else this.call.pause();
  }

  private maybeResume(): void {
    if (!this.readPaused || this.throttled || this.writeBlocked || this.closing || this.finished) return;
    if (this.unacked > this.window / 2) return;
    this.readPaused = false;
    if (this.reader !== undefined) this.reader.resume();
    else this.call.resume();
  }

  private maybeFinish(): void {
    if (this.finished || this.groups.length > 0) return;
    if (this.incoming.length > 0 && !(this.closing && this.throttled)) return;
    if (this.closing) {
      this.fail(new GatewayError('IOC_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down; resend unacknowledged events', { retryAfterMs: 1000 }));
    } else if (this.halfClosed) {
      this.finished = true;
      this.call.end();
      this.settle(grpc.status.OK);
    }
  }

  private fail(err: GatewayError): void {
    if (this.finished) return;
    this.finished = true;
    if (err.code === 'IOC_GATEWAY_INTERNAL') this.core.logger.error({ err: err.cause ?? err }, 'stream failed');
    this.call.emit('error', toServiceError(err));
    this.settle(err.grpcStatus);
  }

  private finish(code: grpc.status): void {
    if (this.finished) return;
    this.finished = true;
    this.settle(code);
  }

  private settle(code: grpc.status): void {
    this.onFinish(code);
    this.resolveDone();
  }
}

let warnedNoRawFrames = false;

const isPlain = (result: EventResult | undefined): boolean => result?.status === 'accepted' || result?.status === 'duplicate';
