import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as loader from '@grpc/proto-loader';
import fc from 'fast-check';
import { EXAMPLE_EVENTS, arbitraryEvent } from './arbitraries.js';
import { decodeProtoCloudEvent, encodeProtoCloudEvent, fromProtoCloudEvent, PROTO_LOADER_OPTIONS, toProtoCloudEvent } from './grpc.js';
import { EVENT_NAMES } from './names.js';
import { parseCloudEvent } from './parse.js';
import type { DossierEvent } from './schemas.js';

type Method = { requestSerialize(v: unknown): Buffer; requestDeserialize(b: Buffer): { event: Record<string, unknown> } };

/** The Publish method as a grpc-js server would see it, loaded the way the gateway loads it. */
function publishMethod(options: object = PROTO_LOADER_OPTIONS): Method {
  const def = loader.loadSync('iocbus/ingest/v1/ingest_service.proto', options as loader.Options);
  return (def['iocbus.ingest.v1.IngestService'] as unknown as { Publish: Method }).Publish;
}

function parsed(name: (typeof EVENT_NAMES)[number]): DossierEvent {
  const r = parseCloudEvent(EXAMPLE_EVENTS[name]);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.event;
}

test('every example survives DossierEvent → proto CloudEvent → grpc wire → DossierEvent', () => {
  const publish = publishMethod();
  const snake = publishMethod({ ...PROTO_LOADER_OPTIONS, keepCase: true });
  for (const name of EVENT_NAMES) {
    const event = parsed(name);
    const wire = publish.requestSerialize({ event: toProtoCloudEvent(event) });
    for (const m of [publish, snake]) {
      const r = fromProtoCloudEvent(m.requestDeserialize(wire).event);
      assert.ok(r.ok, `${name}: ${JSON.stringify(!r.ok && r.problems)}`);
      assert.deepStrictEqual(r.event, event);
    }
    const direct = decodeProtoCloudEvent(encodeProtoCloudEvent(event));
    assert.ok(direct.ok);
    assert.deepStrictEqual(direct.event, event);
  }
});

test('property: random valid events round-trip exactly through the gRPC form', () => {
  const publish = publishMethod();
  fc.assert(
    fc.property(arbitraryEvent(), (e) => {
      const r = fromProtoCloudEvent(publish.requestDeserialize(publish.requestSerialize({ event: toProtoCloudEvent(e) })).event);
      assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
      assert.deepStrictEqual(r.event, e);
    }),
    { numRuns: 500 },
  );
});

test('problems use the JSON paths of the HTTP edge', () => {
  const base = toProtoCloudEvent(parsed('fee_paid'));
  const cases: [Record<string, unknown>, string[]][] = [
    [{ ...base, time: '' }, ['$.time']],
    [{ ...base, type: 'vn.gov.tthc.dossier.rated' }, ['$.type']],
    [{ ...base, datacontenttype: 'application/json' }, ['$.datacontenttype']],
    [{ ...base, extensions: { Bad: 'x', id: 'y' } }, ["$.extensions['Bad']", '$.extensions.id']],
    [{ ...base, feePaid: undefined, data: undefined }, ['$.data']],
    [{ ...base, rated: { ...(base.feePaid as object) }, data: undefined }, ['$.data']],
    [{ ...base, feePaid: { ...(base.feePaid as object), method: 'PAYMENT_METHOD_UNSPECIFIED', amount: -1 } }, ['$.data.amount', '$.data.method']],
    [{ ...base, feePaid: { ...(base.feePaid as object), paidAt: '2025-07-04' } }, ['$.data.paidAt']],
    [{ ...base, subject: 'X' }, ['$.subject']],
  ];
  for (const [msg, paths] of cases) {
    const r = fromProtoCloudEvent(msg);
    assert.equal(r.ok, false, JSON.stringify(msg));
    if (!r.ok) assert.deepEqual(r.problems.map((p) => p.path).sort(), paths.sort());
  }
});

test('malformed messages and bytes are answered, never thrown', () => {
  for (const v of [null, 42, 'x', [], {}]) assert.equal(fromProtoCloudEvent(v).ok, false);
  const bytes = encodeProtoCloudEvent(parsed('received'));
  const cut = decodeProtoCloudEvent(bytes.subarray(0, bytes.length - 1));
  assert.equal(cut.ok, false);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      const r = decodeProtoCloudEvent(b);
      if (!r.ok) assert.ok(r.problems.every((p) => p.path.startsWith('$')));
    }),
    { numRuns: 1000 },
  );
});
