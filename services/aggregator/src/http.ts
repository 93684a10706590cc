/**
 * The operations endpoints: `/metrics` (Prometheus text of the aggregator's registry), `/healthz` (the
 * process works: 503 once the consumer failed for good) and `/readyz` (joined and every assigned partition
 * loaded). Built un-listened so tests drive it with inject().
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { renderMetrics, type Registry } from '@iocbus/telemetry';
import type { AggregatorStatus } from './aggregator.js';

export function buildHttpApp(status: () => AggregatorStatus, registry: Registry): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await renderMetrics(registry);
    return reply.type(contentType).send(body);
  });
  app.get('/healthz', async (_request, reply) => {
    const s = status();
    if (s.failed !== undefined) return reply.code(503).send({ status: 'failed', code: s.failed.code, message: s.failed.message });
    return { status: 'ok' };
  });
  app.get('/readyz', async (_request, reply) => {
    const s = status();
    return reply.code(s.ready ? 200 : 503).send({ status: s.ready ? 'ready' : 'not ready', partitions: s.partitions });
  });
  return app;
}
