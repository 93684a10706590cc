import type { TopicSpec } from '@iocbus/bus';
import type { AggregatorConfig } from './config.js';

/**
 * The topics the aggregator reads and writes, created when missing (existing ones are left as they are).
 * The two compacted topics keep the latest value per key; short segments let the cleaner reach old
 * checkpoints soon, which keeps the scan on assignment short.
 */
export function topicSpecs(cfg: AggregatorConfig): TopicSpec[] {
  const t = cfg.topics;
  const compacted = {
    'cleanup.policy': 'compact',
    'segment.ms': String(t.compactedSegmentMs),
    'min.cleanable.dirty.ratio': '0.1',
    'delete.retention.ms': String(24 * 3_600_000),
  };
  return [
    { name: t.events, partitions: t.eventsPartitions },
    { name: t.checkpoints, partitions: t.checkpointsPartitions, config: { ...compacted, 'max.message.bytes': String(t.checkpointMaxBytes) } },
    { name: t.partials, partitions: t.partialsPartitions, config: compacted },
    { name: t.deadLetters, partitions: t.deadLettersPartitions },
  ];
}
