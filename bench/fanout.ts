/**
 * Fan-out benchmark: `node --import tsx bench/fanout.ts [subscribers] [updates] [intervalMs]`.
 *
 * One view over the in-process bus, N Subscribe streams in a client process (grpc-js from the .proto) plus
 * one that never reads (raw HTTP/2, paused). Prints the figures, then one JSON line:
 *   {"bench":"fanout","subscribers":…,"fanout_p50_ms":…,"fanout_p99_ms":…,…}
 * Latency = append to the partials topic → the client holds the update (every stream, and the first stream of
 * each update: the latter leaves out the client processes' own queueing); the server's share is reported as
 * wall and CPU time per publish (CPU time says what it costs when the machine is not shared). The pipeline
 * benchmark imports
 * `measureFanout` (re-exported here) for its fanout_p99_ms.
 */
import { measureFanout } from '@iocbus/view';

export { measureFanout, type FanoutOptions, type FanoutResult } from '@iocbus/view';

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const subscribers = Number(process.argv[2] ?? 1000);
  const updates = Number(process.argv[3] ?? 50);
  const intervalMs = Number(process.argv[4] ?? 200);
  const r = await measureFanout({ subscribers, stuck: 1, updates, intervalMs, noisePerUpdate: 4 });
  console.error(
    `fan-out to ${r.subscribers} streams (+${r.stuck} stuck), ${r.updates} updates: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (first stream per update p99 ${r.firstP99Ms} ms; the rest is client-side queueing); ` +
      `server per publish: evaluate p99 ${r.evaluateP99Ms} ms (CPU ${r.evaluateCpuP99Ms}), hand-off to ${r.subscribers} streams p99 ${r.fanoutP99Ms} ms (CPU p50 ${r.fanoutCpuP50Ms}, p99 ${r.fanoutCpuP99Ms}); heap ${r.heapBeforeMb} → ${r.heapAfterMb} MB (peak ${r.heapPeakMb}), RSS peak ${r.rssPeakMb} MB`,
  );
  console.log(
    JSON.stringify({
      bench: 'fanout',
      subscribers: r.subscribers,
      stuck: r.stuck,
      updates: r.updates,
      fanout_p50_ms: r.p50Ms,
      fanout_p99_ms: r.p99Ms,
      fanout_max_ms: r.maxMs,
      fanout_first_p99_ms: r.firstP99Ms,
      missing: r.missing,
      server_evaluate_p99_ms: r.evaluateP99Ms,
      server_handoff_p99_ms: r.fanoutP99Ms,
      server_evaluate_cpu_p99_ms: r.evaluateCpuP99Ms,
      server_handoff_cpu_p50_ms: r.fanoutCpuP50Ms,
      server_handoff_cpu_p99_ms: r.fanoutCpuP99Ms,
      heap_before_mb: r.heapBeforeMb,
      heap_after_mb: r.heapAfterMb,
      rss_peak_mb: r.rssPeakMb,
    }),
  );
}
