/**
 * The wall screen's HTTP side, registered on the view's fastify app: the page at `/`, its static assets
 * under `/wall/`, and `/wall/sources.json` (per-source freshness from the aggregator's progress records,
 * which the view holds but does not serve). Assets are read once at start and served from memory.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { MinuteSeries } from './minutes.js';

export const WALL_DIR = fileURLToPath(new URL('./public/', import.meta.url));

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'wall.css': 'text/css; charset=utf-8',
  'wall.js': 'text/javascript; charset=utf-8',
  'format.js': 'text/javascript; charset=utf-8',
  'labels.js': 'text/javascript; charset=utf-8',
  'model.js': 'text/javascript; charset=utf-8',
  'stream.js': 'text/javascript; charset=utf-8',
  'sparkline.js': 'text/javascript; charset=utf-8',
};

export interface SourceFreshness {
  source: string;
  /** Latest event time seen from this source (ms). */
  lastEventMs: number;
  /** Wall-clock time the aggregator last applied one of its events (ms). */
  lastSeenMs: number;
}

export interface WallRoutesOptions {
  /** Freshness of every source the view knows of; undefined while the view is loading. */
  sources(): readonly SourceFreshness[] | undefined;
  /** The province's last hour minute by minute; undefined while the view is loading. */
  minutes(): MinuteSeries | undefined;
  /** Server clock (the simulated clock in a compressed demo). */
  now(): number;
  /** Shown in the header, e.g. "Tỉnh Mẫu (SAMPLE)". */
  provinceName: string;
  /** Says the data is a simulation (so a wall never passes sample data off as real). */
  simulated?: boolean;
}

export async function registerWallRoutes(app: FastifyInstance, options: WallRoutesOptions): Promise<void> {
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(ASSETS)) files.set(name, await readFile(`${WALL_DIR}${name}`));
  const send = (name: string) => async (_request: unknown, reply: FastifyReply) =>
    reply
      .type(ASSETS[name] as string)
      // Short cache: a redeploy reaches the wall within a minute without anyone touching it.
      .header('cache-control', 'public, max-age=60')
      .send(files.get(name));
  app.get('/', send('index.html'));
  for (const name of Object.keys(ASSETS)) if (name !== 'index.html') app.get(`/wall/${name}`, send(name));
  app.get('/wall/config.json', async () => ({ provinceName: options.provinceName, simulated: options.simulated === true }));
  const loading = (reply: FastifyReply) =>
    reply.code(503).header('retry-after', '1').send({ error: { code: 'IOC_VIEW_NOT_READY', message: 'the view is loading' } });
  app.get('/wall/minutes.json', async (_request, reply) => {
    const m = options.minutes();
    if (m === undefined) return loading(reply);
    return { end: new Date(m.endMinute * 60_000).toISOString(), serverTime: new Date(options.now()).toISOString(), ...m.series };
  });
  app.get('/wall/sources.json', async (_request, reply) => {
    const sources = options.sources();
    if (sources === undefined) return loading(reply);
    return {
      serverTime: new Date(options.now()).toISOString(),
      sources: sources.map((s) => ({ source: s.source, lastEvent: new Date(s.lastEventMs).toISOString(), lastSeen: new Date(s.lastSeenMs).toISOString() })),
    };
  });
}

/** Merges per-partition source progress (a source's events spread over every partition). */
export function mergeSources(perPartition: Iterable<{ sources: readonly SourceFreshness[] }>): SourceFreshness[] {
  const merged = new Map<string, SourceFreshness>();
  for (const p of perPartition) {
    for (const s of p.sources) {
      const m = merged.get(s.source);
      if (m === undefined) merged.set(s.source, { ...s });
      else {
        m.lastEventMs = Math.max(m.lastEventMs, s.lastEventMs);
        m.lastSeenMs = Math.max(m.lastSeenMs, s.lastSeenMs);
      }
    }
  }
  return [...merged.values()].sort((a, b) => a.source.localeCompare(b.source));
}
