import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brokerProperties, clusterId } from './kafka-config.js';

function parse(text: string): Map<string, string> {
  return new Map(text.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
}

test('a single node can host every internal topic and tests create their own topics', () => {
  const props = parse(brokerProperties('/tmp/data', 39092, 39093));
  assert.equal(props.get('process.roles'), 'broker,controller');
  assert.equal(props.get('listeners'), 'PLAINTEXT://127.0.0.1:39092,CONTROLLER://127.0.0.1:39093');
  assert.equal(props.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:39092');
  assert.equal(props.get('controller.quorum.bootstrap.servers'), '127.0.0.1:39093');
  for (const key of ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'transaction.state.log.min.isr', 'share.coordinator.state.topic.replication.factor', 'share.coordinator.state.topic.min.isr']) {
    assert.equal(props.get(key), '1', key);
  }
  assert.equal(props.get('auto.create.topics.enable'), 'false');
  assert.equal(props.get('group.initial.rebalance.delay.ms'), '0');
});

test('overrides win over the defaults', () => {
  const props = parse(brokerProperties('/tmp/data', 1, 2, { 'auto.create.topics.enable': true, 'log.cleaner.backoff.ms': 500 }));
  assert.equal(props.get('auto.create.topics.enable'), 'true');
  assert.equal(props.get('log.cleaner.backoff.ms'), '500');
});

test('cluster ids are 22-character base64url Kafka Uuids that never start with a dash', () => {
  for (let i = 0; i < 500; i += 1) assert.match(clusterId(), /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
});
