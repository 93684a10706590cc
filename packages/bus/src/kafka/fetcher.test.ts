import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { kcatConsume, startKafka, uniqueName, waitFor, type KafkaBroker, type KcatRecord } from '@iocbus/testing';
import type { BusRecord, ConsumedRecord } from '../ports.js';
import { createKafkaBus, type KafkaBus } from './bus.js';
import { testBusOptions } from './test-support.js';

const run = promisify(execFile);

let broker: KafkaBroker;
let bus: KafkaBus;
before(async () => {
  broker = await startKafka();
  bus = createKafkaBus(testBusOptions(broker.brokers));
});
after(async () => {
  await bus?.close();
  await broker?.stop();
});

/** What kcat (librdkafka) reads, in the bus's shape: the independent view of the same bytes. */
function fromKcat(r: KcatRecord): Pick<ConsumedRecord, 'partition' | 'offset' | 'key' | 'value' | 'headers' | 'timestamp'> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) headers[name] = value.toString('utf8');
  return { partition: r.partition, offset: String(r.offset), key: r.key?.toString('utf8') ?? '', value: r.value ?? Buffer.alloc(0), headers, timestamp: r.timestamp };
}

function comparable(records: readonly ConsumedRecord[]) {
  return records
    .map(({ partition, offset, key, value, headers, timestamp }) => ({ partition, offset, key, value, headers, timestamp }))
    .sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
}

describe('the bus fetch path on a real broker', () => {
  for (const codec of ['none', 'gzip']) {
    test(`records kcat produced (${codec}: keys, null keys, empty values, headers, several batches) read as kcat reads them`, async () => {
      const topic = uniqueName(`fetch-kcat-${codec}`);
      await bus.admin.ensureTopics([{ name: topic, partitions: 2 }]);
      const dir = await mkdtemp(join(tmpdir(), 'fetch-kcat-'));
      const lines: string[] = [];
      for (let i = 0; i < 3000; i++) lines.push(`${i % 7 === 0 ? '' : `key-${i}`}\t${i % 11 === 0 ? '' : `value ${i} ${'x'.repeat(i % 50)}`}`);
      const file = join(dir, 'records');
      await writeFile(file, `${lines.join('\n')}\n`);
      // -Z: an empty key or value is sent as null; small batches so a fetch holds many of them.
      await run('kcat', [
        '-P', '-b', broker.brokers.join(','), '-t', topic, '-K', '\t', '-Z', '-l',
        '-H', 'ce_type=dossier.received', '-H', 'ce_id=abc', '-H', 'repeated=first', '-H', 'repeated=last',
        '-X', `compression.codec=${codec}`, '-X', 'batch.num.messages=50', '-X', 'linger.ms=1',
        file,
      ]);
      const ours = await bus.source.readToEnd(topic);
      const theirs = await kcatConsume({ brokers: broker.brokers, topic });
      assert.equal(ours.length, 3000);
      assert.deepEqual(comparable(ours), comparable(theirs.map((r) => ({ ...fromKcat(r), topic }))));
      assert.ok(ours.some((r) => r.key === '') && ours.some((r) => r.value.length === 0), 'null keys and values were among them');
      assert.deepEqual(ours[0]!.headers, { ce_type: 'dossier.received', ce_id: 'abc', repeated: 'last' });
    });
  }

  test('records the bus appended (tombstones, headers) read back as appended, one fetch after another', async () => {
    const topic = uniqueName('fetch-bus');
    await bus.admin.ensureTopics([{ name: topic, partitions: 1 }]);
    // Recent timestamps: the broker deletes records by their timestamp (retention.ms), and a fixed date in the
    // past let its retention check remove the first segments while the test ran (seen in CI: k0–k999 gone).
    const since = Date.now() - 60_000;
    const appended = Array.from({ length: 5000 }, (_, i): BusRecord => ({
      key: `k${i}`,
      value: i % 13 === 0 ? Buffer.alloc(0) : Buffer.from(`v${i}`.repeat(20)),
      headers: i % 5 === 0 ? {} : { ce_id: `id-${i}`, ce_source: 'ünïcode/ソース' },
      timestamp: since + i,
    }));
    for (let i = 0; i < appended.length; i += 500) await bus.log.append(topic, appended.slice(i, i + 500));
    const seen: number[] = [];
    await bus.source.scanToEnd(topic, (records) => void seen.push(records.length));
    assert.ok(seen.length > 1, 'more than one fetch (64 KiB per partition)');
    const read = await bus.source.readToEnd(topic);
    assert.deepEqual(
      read.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
      appended,
    );
    assert.deepEqual(read.map((r) => r.offset), appended.map((_, i) => String(i)));
  });

  test('a position outside the log (records deleted, or past the end) continues at the nearest end of it', async () => {
    const topic = uniqueName('fetch-range');
    await bus.admin.ensureTopics([{ name: topic, partitions: 1 }]);
    await bus.log.append(topic, Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`v${i}`), headers: {} })));
    const admin = bus.kafka.admin();
    await admin.connect();
    try {
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '10' }] });
    } finally {
      await admin.disconnect();
    }
    const follow = async (from: string) => {
      const offsets: string[] = [];
      let caughtUp = false;
      const tail = await bus.source.tail({
        topic,
        from: new Map([[0, from]]),
        onBatch: async (b) => void offsets.push(...b.records.map((r) => r.offset)),
        onCaughtUp: () => (caughtUp = true),
      });
      return { offsets, tail, caughtUp: () => caughtUp };
    };
    const below = await follow('3');
    const above = await follow('1000');
    await waitFor(() => below.caughtUp() && above.caughtUp(), { timeoutMs: 30_000, message: 'both tails caught up' });
    await bus.log.append(topic, [{ key: 'late', value: Buffer.from('late'), headers: {} }]);
    await waitFor(() => below.offsets.includes('20') && above.offsets.includes('20'), { timeoutMs: 30_000, message: 'both tails to reach the new record' });
    await Promise.all([below.tail.stop(), above.tail.stop()]);
    assert.deepEqual(below.offsets, ['10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20'], 'from the log start on');
    assert.deepEqual(above.offsets, ['20'], 'from the end on');
  });
});
