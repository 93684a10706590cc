/**
 * A bounded HTTP load generator for the gateway's fault tests: a few concurrent clients post batches of
 * fresh events to 127.0.0.1 until told to stop (or a hard cap on requests), recording which events were
 * acknowledged (202 accepted/duplicate) and which requests failed.
 */
import * as grpc from '@grpc/grpc-js';
import { parseCloudEvent, toProtoCloudEvent } from '@iocbus/events';
import { bearer, ingestClient, sampleEvent, type StreamResponse } from '../../services/gateway/src/test-support.js';

export interface LoadResult {
  /** Ids of events the gateway acknowledged. */
  acknowledged: Set<string>;
  /** Ids of events in requests answered with an error (or no answer at all). */
  unacknowledged: Set<string>;
  statuses: Map<string, number>;
  requests: number;
}

export interface Load {
  stop(): Promise<LoadResult>;
  /** Requests answered so far. */
  readonly answered: number;
  /** 202s so far. */
  readonly accepted: number;
}

export function startLoad(options: { url: string; key: string; clients: number; batch: number; maxRequests: number }): Load {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(options.url)) throw new Error('load goes to 127.0.0.1 only');
  const result: LoadResult = { acknowledged: new Set(), unacknowledged: new Set(), statuses: new Map(), requests: 0 };
  let stopping = false;
  let answered = 0;
  let accepted = 0;
  const record = (status: string): void => void result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);

  async function client(): Promise<void> {
    while (!stopping && result.requests < options.maxRequests) {
      result.requests++;
      const events = Array.from({ length: options.batch }, () => sampleEvent());
      const ids = events.map((e) => String(e.id));
      try {
        const res = await fetch(`${options.url}/v1/events:batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/cloudevents-batch+json' },
          body: JSON.stringify(events),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await res.json()) as { results?: { id: string; status: string }[] };
        record(String(res.status));
        answered++;
        if (res.status === 202) {
          accepted++;
          for (const r of body.results ?? []) {
            if (r.status === 'accepted' || r.status === 'duplicate') result.acknowledged.add(r.id);
            else result.unacknowledged.add(r.id);
          }
        } else {
          for (const id of ids) result.unacknowledged.add(id);
        }
      } catch (err) {
        record(`error:${(err as Error).name}`);
        for (const id of ids) result.unacknowledged.add(id);
      }
    }
  }

  const running = Promise.all(Array.from({ length: options.clients }, () => client()));
  return {
    async stop() {
      stopping = true;
      await running;
      return result;
    },
    get answered() {
      return answered;
    },
    get accepted() {
      return accepted;
    },
  };
}

export interface StreamLoad {
  stop(): Promise<{ acknowledged: Set<string>; sent: number; status: string }>;
  readonly acked: number;
}

/**
 * One PublishStream client that honours the server's flow-control grants: it keeps at most max_in_flight
 * events unacknowledged, and records the ids acked ACCEPTED or DUPLICATE. Ends when the stream ends or after
 * maxEvents.
 */
export function startStreamLoad(options: { port: number; key: string; maxEvents: number }): StreamLoad {
  const client = ingestClient(options.port);
  const call = client.PublishStream(bearer(options.key));
  const acknowledged = new Set<string>();
  const ids = new Map<number, string>();
  let window = 0;
  let sent = 0;
  let acked = 0;
  let status = 'running';
  let stopping = false;
  const ended = new Promise<void>((resolve) =>
    call.on('status', (s: grpc.StatusObject) => {
      status = grpc.status[s.code] ?? String(s.code);
      resolve();
    }),
  );
  call.on('error', () => undefined);
  const pump = (): void => {
    while (!stopping && status === 'running' && sent < options.maxEvents && sent - acked < window) {
      const parsed = parseCloudEvent(sampleEvent());
      if (!parsed.ok) throw new Error('sample event is invalid');
      sent++;
      ids.set(sent, parsed.event.id);
      call.write({ sequence: sent, event: toProtoCloudEvent(parsed.event) });
    }
    if ((stopping || sent >= options.maxEvents) && status === 'running') call.end();
  };
  call.on('data', (m: StreamResponse) => {
    if (m.flowControl !== undefined) window = m.flowControl.maxInFlight;
    if (m.ack !== undefined) {
      acked = m.ack.sequence;
      const status = m.ack.result.status;
      if (status === 'EVENT_STATUS_ACCEPTED' || status === 'EVENT_STATUS_DUPLICATE') acknowledged.add(ids.get(m.ack.sequence) as string);
      ids.delete(m.ack.sequence);
    }
    pump();
  });
  return {
    async stop() {
      stopping = true;
      pump();
      await ended;
      client.close();
      return { acknowledged, sent, status };
    },
    get acked() {
      return acked;
    },
  };
}
