import { BusError, BusErrorCode } from '../errors.js';

interface KafkaJsErrorLike {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  errors?: unknown[];
}

// kafkajs protocol error types (Kafka's error names) that need a code of their own.
const BY_TYPE: Record<string, BusErrorCode> = {
  UNKNOWN_TOPIC_OR_PARTITION: BusErrorCode.UnknownTopic,
  MESSAGE_TOO_LARGE: BusErrorCode.RecordTooLarge,
  RECORD_LIST_TOO_LARGE: BusErrorCode.RecordTooLarge,
  INVALID_CONFIG: BusErrorCode.InvalidRequest,
  INVALID_PARTITIONS: BusErrorCode.InvalidRequest,
  INVALID_REPLICATION_FACTOR: BusErrorCode.InvalidRequest,
  INVALID_TOPIC_EXCEPTION: BusErrorCode.InvalidRequest,
  INVALID_REQUEST: BusErrorCode.InvalidRequest,
  POLICY_VIOLATION: BusErrorCode.InvalidRequest,
  TOPIC_AUTHORIZATION_FAILED: BusErrorCode.NotAuthorized,
  GROUP_AUTHORIZATION_FAILED: BusErrorCode.NotAuthorized,
  CLUSTER_AUTHORIZATION_FAILED: BusErrorCode.NotAuthorized,
  SASL_AUTHENTICATION_FAILED: BusErrorCode.NotAuthorized,
  REBALANCE_IN_PROGRESS: BusErrorCode.CommitRejected,
  ILLEGAL_GENERATION: BusErrorCode.CommitRejected,
  UNKNOWN_MEMBER_ID: BusErrorCode.CommitRejected,
  FENCED_INSTANCE_ID: BusErrorCode.CommitRejected,
};

// The producer's sequence state went wrong; the event log replaces the producer after any failed
// send, so the same append, retried, starts clean.
const PRODUCER_STATE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

// Failures of reaching the cluster at all: retrying later is the right answer.
const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSTimeout',
]);

/** The innermost kafkajs error: retries and aggregates wrap the one that says what went wrong. */
function rootOf(err: unknown): KafkaJsErrorLike {
  let e = err as KafkaJsErrorLike;
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth++) {
    // kafkajs's retrier wraps the failure that stopped it (e.g. a connection refused while a broker restarts)
    // in KafkaJSNonRetriableError; the wrapped error says whether retrying later can help.
    if ((e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSNonRetriableError') && e.cause !== undefined) {
      e = e.cause as KafkaJsErrorLike;
    }
    else if (Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0] as KafkaJsErrorLike;
    else break;
  }
  return e ?? {};
}

/** Maps anything kafkajs throws to a BusError; `what` names the operation for the message. */
export function mapKafkaError(err: unknown, what: string): BusError {
  if (err instanceof BusError) return err;
  const root = rootOf(err);
  const detail = root.message ?? String(err);
  const byType = root.type !== undefined ? BY_TYPE[root.type] : undefined;
  const details = { kafkaError: root.type ?? root.name };
  if (byType !== undefined) return new BusError(byType, `${what}: ${detail}`, { cause: err, details });
  if (root.type !== undefined && PRODUCER_STATE.has(root.type)) {
    return new BusError(BusErrorCode.Failed, `${what}: ${detail}`, { cause: err, details, retriable: true });
  }
  if (root.name === 'KafkaJSSASLAuthenticationError') {
    return new BusError(BusErrorCode.NotAuthorized, `${what}: ${detail}`, { cause: err, details });
  }
  if ((root.name !== undefined && UNREACHABLE.has(root.name)) || root.retriable === true) {
    return new BusError(BusErrorCode.Unavailable, `${what}: ${detail}`, { cause: err, details });
  }
  return new BusError(BusErrorCode.Failed, `${what}: ${detail}`, { cause: err, details, retriable: false });
}
