import { createKafkaBus } from './src/index.ts';
import { kcatProduceFile, writeKcatRecordsFile, kcatCount, uniqueName } from '@iocbus/testing';
const brokers = ['127.0.0.1:39192'];
const N = Number(process.argv[2] ?? 300000);
const bus = createKafkaBus({ brokers, replicationFactor: 1, clientLogLevel: 'warn' });
const topic = uniqueName('bench');
await bus.admin.ensureTopics([{ name: topic, partitions: 6 }]);
// ~250-byte records with 7 ce_ headers, written by our producer in batches of 1000
const headers = { ce_specversion: '1.0', ce_id: 'x'.repeat(36), ce_source: '/agencies/H21.227/igate', ce_type: 'vn.gov.tthc.dossier.received', ce_time: '2025-07-01T08:30:00+07:00', ce_subject: '000.00.17.H21-250701-0001', 'content-type': 'application/protobuf' };
let t = Date.now();
const value = Buffer.alloc(120, 7);
const batches = [];
for (let i = 0; i < N; i += 2000) {
  const recs = Array.from({ length: Math.min(2000, N - i) }, (_, j) => ({ key: `000.00.17.H21-2507-${(i + j) % 5000}`, value, headers: { ...headers, ce_id: `id-${i + j}` } }));
  batches.push(bus.log.append(topic, recs));
  if (batches.length >= 4) await batches.shift();
}
await Promise.all(batches);
console.log(`produce ${N} in ${Date.now() - t} ms = ${Math.round(N / ((Date.now() - t) / 1000))}/s`);
t = Date.now();
const c = await kcatCount({ brokers, topic });
console.log(`kcat consume ${c} in ${Date.now() - t} ms = ${Math.round(c / ((Date.now() - t) / 1000))}/s`);
let seen = 0; let start = 0;
const done = Promise.withResolvers ? null : null;
let resolve!: () => void; const finished = new Promise<void>(r => resolve = r);
const consumer = await bus.source.joinGroup({ groupId: uniqueName('bench'), topics: [topic], onAssigned: async () => { start = Date.now(); }, onRevoked: async () => {}, onBatch: async (b) => { seen += b.records.length; if (seen >= N) resolve(); } });
await finished;
console.log(`group consume ${seen} in ${Date.now() - start} ms = ${Math.round(seen / ((Date.now() - start) / 1000))}/s`);
await consumer.stop();
t = Date.now(); let n = 0;
await bus.source.scanToEnd(topic, (r) => { n += r.length; });
console.log(`scanToEnd ${n} in ${Date.now() - t} ms = ${Math.round(n / ((Date.now() - t) / 1000))}/s`);
await bus.close();
