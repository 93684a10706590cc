/**
 * `node --import tsx packages/testing/src/fetch-kafka-jars.ts [version]`: fills the jar cache ahead of the tests,
 * so the one-time Maven download shows up in the setup step rather than inside the first Kafka test.
 */
import { KAFKA_VERSION } from './kafka.js';
import { resolveKafkaJars } from './kafka-jars.js';

const version = process.argv[2] ?? process.env['IOCBUS_KAFKA_VERSION'] ?? KAFKA_VERSION;
const started = Date.now();
const jars = await resolveKafkaJars({ version, log: (line) => console.log(line) });
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`kafka ${version} jars ${jars.downloaded ? 'downloaded' : 'already cached'} in ${seconds} s: ${jars.libsDir}`);
