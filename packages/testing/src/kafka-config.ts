import { randomBytes } from 'node:crypto';

/** server.properties of a single-node KRaft broker+controller on loopback, for tests. */
export function brokerProperties(
  dataDir: string,
  brokerPort: number,
  controllerPort: number,
  overrides: Record<string, string | number | boolean> = {},
): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    listeners: `PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${brokerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    'log.dirs': dataDir,
    // A single node cannot meet the default replication factor of 3: without these the internal topics are
    // never created and kafkajs reports "group coordinator not available" (kafkajs #1752, #1630).
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Tests create every topic they use; an auto-created topic would hide a missing createTopics.
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    // Tests join groups constantly; the 3 s default delay would be paid on every first join.
    'group.initial.rebalance.delay.ms': 0,
    // Lets crash tests use short session timeouts so a killed member is noticed quickly.
    'group.min.session.timeout.ms': 1_000,
    'num.network.threads': 2,
    'num.io.threads': 4,
    ...overrides,
  };
  return `${Object.entries(props).map(([k, v]) => `${k}=${String(v)}`).join('\n')}\n`;
}

export function log4jProperties(logFile: string): string {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${logFile}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = info',
    'rootLogger.appenderRef.file.ref = file',
    'logger.request.name = kafka.request.logger',
    'logger.request.level = warn',
    'logger.state.name = state.change.logger',
    'logger.state.level = warn',
    '',
  ].join('\n');
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, never starting with '-' (Kafka's Uuid rule). */
export function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
