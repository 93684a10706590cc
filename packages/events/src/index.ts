export {
  DVCQG_STATUS,
  EVENT_NAMES,
  EVENT_TYPES,
  PROTO_MESSAGE,
  TYPE_PREFIX,
  eventNameOf,
  eventTypeOf,
  isEventType,
  type EventName,
  type EventType,
} from './names.js';
export { isRfc3339, rfc3339Problem, toEpochMs } from './time.js';
export {
  APPLICANT_TYPES,
  CHANNELS,
  DATA_SCHEMAS,
  PAYMENT_METHODS,
  RATINGS,
  RETURN_METHODS,
  SPEC_VERSION,
  componentSchema,
  envelopeSchema,
  type ApplicantType,
  type Channel,
  type CommonData,
  type Component,
  type DossierEvent,
  type DossierEventByName,
  type DossierEventOf,
  type EventDataByName,
  type EventDataOf,
  type EventEnvelope,
  type PaymentMethod,
  type Rating,
  type ReturnMethod,
} from './schemas.js';
export { jsonPath, type Problem } from './problems.js';
export { EventDecodeError } from './errors.js';
export { dedupKey, parseCloudEvent, toCloudEventJson, validateCandidate, type ParseResult } from './parse.js';
export {
  PROTOBUF_CONTENT_TYPE,
  fromKafkaRecord,
  kafkaHeaders,
  toKafkaRecord,
  type KafkaRecordIn,
  type KafkaRecordOut,
} from './kafka.js';
export { EVENTS_PROTO_FILE, PROTO_DIR, decodeData, encodeData, protoModel, type DataCodec } from './proto.js';
export { varintSize, writeVarint } from './varint.js';
export {
  PROTO_LOADER_OPTIONS,
  decodeProtoCloudEvent,
  encodeProtoCloudEvent,
  fromProtoCloudEvent,
  toProtoCloudEvent,
  type ProtoCloudEvent,
} from './grpc.js';
