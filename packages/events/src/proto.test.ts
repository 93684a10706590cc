import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EVENT_TYPES, eventNameOf } from './names.js';
import { codecFor, protoModel } from './proto.js';
import { APPLICANT_TYPES, CHANNELS, DATA_SCHEMAS, PAYMENT_METHODS, RATINGS, RETURN_METHODS, componentSchema } from './schemas.js';

const shapeKeys = (schema: unknown): string[] => Object.keys((schema as { shape: object }).shape).sort();

test('every event type has a protobuf message with exactly the zod schema fields', () => {
  for (const type of EVENT_TYPES) {
    const codec = codecFor(type);
    assert.deepEqual(codec.fields.map((f) => f.name).sort(), shapeKeys(DATA_SCHEMAS[type]), type);
  }
  const component = protoModel().root.lookupType('iocbus.events.v1.Component');
  assert.deepEqual(component.fieldsArray.map((f) => f.name).sort(), shapeKeys(componentSchema));
});

test('CloudEvent has one data case per event type, named after it', () => {
  const ce = protoModel().cloudEvent;
  const cases = ce.oneofs.data?.fieldsArray.map((f) => f.name) ?? [];
  assert.deepEqual(cases.sort(), EVENT_TYPES.map((t) => codecFor(t).caseName).sort());
  for (const t of EVENT_TYPES) assert.equal(ce.fields[codecFor(t).caseName]?.resolvedType?.name, codecFor(t).type.name, eventNameOf(t));
});

test('protobuf enums cover exactly the SPEC enum values', () => {
  const enumValues = (field: string, type: (typeof EVENT_TYPES)[number]) => [...(codecFor(type).fields.find((f) => f.name === field)?.enumToNumber?.keys() ?? [])].sort();
  assert.deepEqual(enumValues('channel', 'vn.gov.tthc.dossier.received'), [...CHANNELS].sort());
  assert.deepEqual(enumValues('applicantType', 'vn.gov.tthc.dossier.received'), [...APPLICANT_TYPES].sort());
  assert.deepEqual(enumValues('method', 'vn.gov.tthc.dossier.fee_paid'), [...PAYMENT_METHODS].sort());
  assert.deepEqual(enumValues('method', 'vn.gov.tthc.dossier.result_returned'), [...RETURN_METHODS].sort());
  assert.deepEqual(enumValues('rating', 'vn.gov.tthc.dossier.rated'), [...RATINGS].sort());
});
