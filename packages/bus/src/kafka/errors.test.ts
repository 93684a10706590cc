import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { BusError, BusErrorCode } from '../errors.js';
import { mapKafkaError } from './errors.js';

// kafkajs spreads its errors into module.exports, which ESM named imports cannot see.
const { KafkaJSAggregateError, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSRequestTimeoutError } = kafkajs;
const require = createRequire(import.meta.url);
// kafkajs's own table from Kafka error codes to errors, so the cases below are what the client really throws.
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error };
const { KafkaJSNumberOfRetriesExceeded } = require('kafkajs/src/errors.js') as {
  KafkaJSNumberOfRetriesExceeded: new (e: Error, o: { retryCount: number; retryTime: number }) => Error;
};

const code = (err: unknown, what = 'op') => {
  const mapped = mapKafkaError(err, what);
  return [mapped.code, mapped.retriable];
};

test('an unreachable or slow broker is retriable IOC_BUS_UNAVAILABLE', () => {
  assert.deepEqual(code(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED')), [BusErrorCode.Unavailable, true]);
  assert.deepEqual(code(new KafkaJSRequestTimeoutError('Request Produce timed out')), [BusErrorCode.Unavailable, true]);
  // NOT_ENOUGH_REPLICAS (19) and LEADER_NOT_AVAILABLE (5) are retriable in Kafka's own table.
  assert.deepEqual(code(createErrorFromCode(19)), [BusErrorCode.Unavailable, true]);
  assert.deepEqual(code(createErrorFromCode(5)), [BusErrorCode.Unavailable, true]);
});

test('retries exhausted report the error that caused them', () => {
  const wrapped = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('refused'), { retryCount: 5, retryTime: 10 });
  assert.deepEqual(code(wrapped), [BusErrorCode.Unavailable, true]);
  // The retrier also wraps the failure that stopped it in a non-retriable error (a broker restarting).
  const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error;
  const stopped = new NonRetriable(new KafkaJSConnectionError('refused'), { cause: new KafkaJSConnectionError('refused') });
  assert.deepEqual(code(stopped), [BusErrorCode.Unavailable, true]);
  const unknownTopic = new KafkaJSNumberOfRetriesExceeded(createErrorFromCode(3), { retryCount: 5, retryTime: 10 });
  assert.deepEqual(code(unknownTopic), [BusErrorCode.UnknownTopic, false]);
});

test('Kafka error codes that say what the caller did wrong are not retriable', () => {
  assert.deepEqual(code(createErrorFromCode(10)), [BusErrorCode.RecordTooLarge, false]); // MESSAGE_TOO_LARGE
  assert.deepEqual(code(createErrorFromCode(40)), [BusErrorCode.InvalidRequest, false]); // INVALID_CONFIG
  assert.deepEqual(code(createErrorFromCode(29)), [BusErrorCode.NotAuthorized, false]); // TOPIC_AUTHORIZATION_FAILED
  assert.deepEqual(code(createErrorFromCode(27)), [BusErrorCode.CommitRejected, false]); // REBALANCE_IN_PROGRESS
  assert.deepEqual(code(new KafkaJSAggregateError('create', [createErrorFromCode(37)])), [BusErrorCode.InvalidRequest, false]); // INVALID_PARTITIONS
  // OUT_OF_ORDER_SEQUENCE_NUMBER: the event log starts a new producer, so retrying the append helps.
  assert.deepEqual(code(createErrorFromCode(45)), [BusErrorCode.Failed, true]);
});

test('anything else keeps the client\'s verdict and names the operation', () => {
  const mapped = mapKafkaError(new KafkaJSNonRetriableError('The producer is disconnecting'), 'append to t');
  assert.equal(mapped.code, BusErrorCode.Failed);
  assert.equal(mapped.retriable, false);
  assert.match(mapped.message, /^append to t: The producer is disconnecting/);
  assert.ok(mapped.cause instanceof KafkaJSNonRetriableError);
  const already = new BusError(BusErrorCode.NotAssigned, 'x');
  assert.equal(mapKafkaError(already, 'y'), already);
});
