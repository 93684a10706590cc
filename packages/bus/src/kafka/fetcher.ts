import { BusError, BusErrorCode } from '../errors.js';
import {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_API_KEY,
  FETCH_VERSION,
  partitionKey,
  type FetchRequest,
  type FetchResponse,
} from './fetch-protocol.js';
import { brokerApiVersions, kafkaProtocolError, sendRawRequest, type InternalBroker } from './internals.js';

/**
 * One Fetch (v11) to a broker, sent on that broker's connection, its response decoded by the bus
 * (fetch-protocol.ts, record-batches.ts) rather than kafkajs. Partition errors are left in the result
 * for the caller; a request-level error is thrown as kafkajs would throw it.
 */
export async function fetchOnce(broker: InternalBroker, request: FetchRequest, requestTimeoutMs: number): Promise<FetchResponse> {
  const versions = brokerApiVersions(broker)?.[FETCH_API_KEY];
  if (versions !== undefined && (versions.maxVersion < FETCH_VERSION || versions.minVersion > FETCH_VERSION)) {
    throw new BusError(
      BusErrorCode.Failed,
      `the broker serves Fetch v${versions.minVersion}–v${versions.maxVersion}; the bus speaks v${FETCH_VERSION} (Kafka 2.3 to 4.x serve it)`,
      { retriable: false },
    );
  }
  const offsets = new Map<string, bigint>();
  for (const p of request.partitions) offsets.set(partitionKey(p.topic, p.partition), p.offset);
  const response = await sendRawRequest(
    broker,
    {
      apiKey: FETCH_API_KEY,
      apiVersion: FETCH_VERSION,
      apiName: 'Fetch',
      body: encodeFetchRequest(request),
      // The broker holds a fetch up to maxWaitMs before answering; the timeout is on top of that.
      requestTimeoutMs: requestTimeoutMs + request.maxWaitMs,
    },
    (payload) => decodeFetchResponse(payload, offsets),
  );
  if (response.errorCode !== 0) throw kafkaProtocolError(response.errorCode);
  return response;
}
