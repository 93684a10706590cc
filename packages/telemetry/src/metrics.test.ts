import assert from 'node:assert/strict';
import { test } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { createRegistry, metricName, renderMetrics, ServiceMetrics } from './metrics.js';
import { promtoolFindings } from './promtool.js';

test('metricName follows iocbus_<service>_<thing>_<unit> and refuses other shapes', () => {
  assert.equal(metricName('gateway', 'request_duration', 'seconds'), 'iocbus_gateway_request_duration_seconds');
  assert.throws(() => metricName('Gateway', 'x', 'total'), /service "Gateway"/);
  assert.throws(() => metricName('gateway', 'events-count', 'total'), /thing/);
  assert.throws(() => metricName('gateway', 'events', ''), /unit/);
});

test('each service gets its own registry with process metrics; the global registry stays empty', async () => {
  const a = createRegistry();
  const b = createRegistry({ defaultMetrics: false });
  new ServiceMetrics('gateway', a).counter('events', { help: 'h', labelNames: ['result'] }).inc({ result: 'accepted' });
  const textA = (await renderMetrics(a)).body;
  const textB = (await renderMetrics(b)).body;
  assert.match(textA, /process_cpu_user_seconds_total/);
  assert.match(textA, /nodejs_eventloop_lag_seconds/);
  assert.match(textA, /iocbus_gateway_events_total\{result="accepted"\} 1/);
  assert.doesNotMatch(textB, /process_cpu|iocbus_gateway/);
  assert.equal((await globalRegistry.metrics()).trim(), '');
});

test('counter, histogram and gauge helpers create correctly named series', async () => {
  const registry = createRegistry({ defaultMetrics: false, defaultLabels: { instance: 'i1' } });
  const m = new ServiceMetrics('view', registry);
  m.histogram('request_duration', 'seconds', { help: 'latency', labelNames: ['route'], buckets: [0.1, 1] })
    .observe({ route: '/x' }, 0.5);
  let depth = 7;
  m.gauge('in_flight', 'events', {
    help: 'in flight',
    collect() {
      this.set(depth);
    },
  });
  const rendered = await renderMetrics(registry);
  assert.match(rendered.contentType, /^text\/plain; version=0\.0\.4/);
  assert.match(rendered.body, /iocbus_view_request_duration_seconds_bucket\{le="0\.1",instance="i1",route="\/x"\} 0/);
  assert.match(rendered.body, /iocbus_view_request_duration_seconds_bucket\{le="1",instance="i1",route="\/x"\} 1/);
  assert.match(rendered.body, /iocbus_view_in_flight_events\{instance="i1"\} 7/);
  depth = 9;
  assert.match((await renderMetrics(registry)).body, /iocbus_view_in_flight_events\{instance="i1"\} 9/);
  assert.throws(() => new ServiceMetrics('Bad Name', registry), /not lower snake case/);
});

test('promtool accepts the exposition: it parses, and our series pass its lint', async () => {
  const registry = createRegistry();
  const m = new ServiceMetrics('gateway', registry);
  m.counter('events', { help: 'Events handled', labelNames: ['result'] }).inc({ result: 'accepted' });
  m.histogram('request_duration', 'seconds', { help: 'Request latency', buckets: [0.1, 1] }).observe(0.2);
  m.gauge('in_flight', 'events', { help: 'Events in flight' }).set(3);
  const { body } = await renderMetrics(registry);
  assert.deepEqual(promtoolFindings(body), []);
  assert.notDeepEqual(promtoolFindings(`${body}broken{ 1\n`), [], 'promtool must flag a broken exposition');
});
