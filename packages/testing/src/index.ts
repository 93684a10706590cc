export { startKafka, KAFKA_VERSION, type KafkaBroker, type KafkaSource, type StartKafkaOptions } from './kafka.js';
export { resolveKafkaJars, kafkaCacheDir, type KafkaJars, type KafkaJarsOptions } from './kafka-jars.js';
export { dockerAnswers } from './docker.js';
export { uniqueName } from './names.js';
export { waitFor, type WaitForOptions } from './wait.js';
export { TestingError } from './errors.js';
export {
  kcatConsume,
  kcatCount,
  kcatProduceFile,
  writeKcatRecordsFile,
  type KcatRecord,
  type KcatTopicOptions,
  type KcatProduceFileOptions,
  type KcatRecordsFileOptions,
} from './kcat.js';
