import { TestingError } from './errors.js';

export interface ContainerBroker {
  brokers: string[];
  image: string;
  stop(): Promise<void>;
}

/**
 * `@testcontainers/kafka` 11 drives Confluent's cp-kafka images (it runs /etc/confluent/docker/run), so an
 * Apache Kafka version maps to the Confluent Platform release built on it: CP 8.N ships Apache Kafka 4.N.
 */
export function confluentImageFor(kafkaVersion: string): string {
  const match = /^4\.(\d+)\./.exec(kafkaVersion);
  if (!match) {
    throw new TestingError('IOC_TESTING_KAFKA_IMAGE', `no Confluent image known for Apache Kafka ${kafkaVersion}; set IOCBUS_KAFKA_IMAGE`);
  }
  return `confluentinc/cp-kafka:8.${match[1]}.0`;
}

export async function startContainerBroker(image: string, startTimeoutMs: number): Promise<ContainerBroker> {
  // Loaded only here: testcontainers is heavy to import and useless without a Docker engine.
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const container = await new KafkaContainer(image)
    .withEnvironment({
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000',
    })
    .withStartupTimeout(startTimeoutMs)
    .start();
  return {
    brokers: [`${container.getHost()}:${container.getMappedPort(9093)}`],
    image,
    stop: async () => {
      await container.stop();
    },
  };
}
