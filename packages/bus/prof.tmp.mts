import { createKafkaBus } from './src/index.ts';
import { uniqueName } from '@iocbus/testing';
const brokers = ['127.0.0.1:39192'];
const topic = process.argv[2]!; const N = Number(process.argv[3]);
const mode = process.argv[4] ?? 'group';
const bus = createKafkaBus({ brokers, replicationFactor: 1, clientLogLevel: 'warn' });
let seen = 0; let start = Date.now();
if (mode === 'group') {
let resolve!: () => void; const finished = new Promise<void>(r => resolve = r);
const consumer = await bus.source.joinGroup({ groupId: uniqueName('prof'), topics: [topic], onAssigned: async () => { start = Date.now(); }, onRevoked: async () => {}, onBatch: async (b) => { seen += b.records.length; if (seen >= N) resolve(); } });
await finished;
await consumer.stop();
} else {
await bus.source.scanToEnd(topic, (r) => { seen += r.length; });
}
console.log(`${mode} ${seen} in ${Date.now() - start} ms = ${Math.round(seen / ((Date.now() - start) / 1000))}/s`);
await bus.close();
