import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EXAMPLE_EVENTS, arbitraryEvent } from './arbitraries.js';
import { EVENT_NAMES, EVENT_TYPES, type EventType } from './names.js';
import { dedupKey, parseCloudEvent, toCloudEventJson } from './parse.js';
import { DATA_SCHEMAS, type DossierEvent } from './schemas.js';

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function expectProblems(input: unknown): { path: string; message: string }[] {
  const r = parseCloudEvent(input);
  assert.equal(r.ok, false, 'expected the event to be rejected');
  if (r.ok) throw new Error('unreachable');
  assert.ok(r.problems.length > 0);
  return r.problems;
}

const received = EXAMPLE_EVENTS.received;

test('every hand-written example parses, and its JSON form parses back to the same event', () => {
  for (const name of EVENT_NAMES) {
    const r = parseCloudEvent(clone(EXAMPLE_EVENTS[name]));
    assert.ok(r.ok, `${name}: ${JSON.stringify(!r.ok && r.problems)}`);
    assert.equal(r.event.type, `vn.gov.tthc.dossier.${name}`);
    assert.deepEqual(r.event.data, EXAMPLE_EVENTS[name].data);
    const again = parseCloudEvent(clone(toCloudEventJson(r.event)));
    assert.ok(again.ok);
    assert.deepStrictEqual(again.event, r.event);
  }
});

test('the parsed event is typed by its type and carries extensions as strings', () => {
  const r = parseCloudEvent({ ...clone(received), flag: true, count: 42 });
  assert.ok(r.ok);
  const e: DossierEvent = r.event;
  if (e.type !== 'vn.gov.tthc.dossier.received') throw new Error('wrong type');
  assert.equal(e.data.channel, 'online');
  assert.equal(e.data.components?.[1]?.digitized, false);
  assert.deepEqual(e.extensions, { traceparent: received.traceparent, flag: 'true', count: '42' });
  assert.equal('datacontenttype' in e, false);
  assert.equal(dedupKey(e), '/agencies/H21.227/igate igate-000002');
});

test('null optional fields are treated as absent; the input is not mutated', () => {
  const input = clone(received) as { data: Record<string, unknown> };
  input.data.sectorCode = null;
  input.data.components = [{ code: 'TP01', digitized: true, reused: null }];
  const before = clone(input);
  const r = parseCloudEvent(input);
  assert.ok(r.ok);
  assert.equal('sectorCode' in r.event.data, false);
  assert.deepEqual((r.event.data as { components: unknown }).components, [{ code: 'TP01', digitized: true }]);
  assert.deepStrictEqual(input, before);
});

test('SPEC §1 rules: unknown type, subject ≠ dossierCode, missing offset, unknown data field', () => {
  assert.deepEqual(expectProblems({ ...clone(received), type: 'vn.gov.tthc.dossier.approved' }).map((p) => p.path), ['$.type']);
  assert.deepEqual(expectProblems({ ...clone(received), subject: 'OTHER-1' }).map((p) => p.path), ['$.subject']);
  assert.deepEqual(expectProblems({ ...clone(received), time: '2025-07-01T08:30:00' }).map((p) => p.path), ['$.time']);
  const bad = clone(received) as { data: Record<string, unknown> };
  bad.data.dueAt = '2025-07-08 17:00:00';
  bad.data.sectorcode = 'G09';
  assert.deepEqual(expectProblems(bad).map((p) => p.path).sort(), ['$.data.dueAt', '$.data.sectorcode']);
});

test('every problem is reported at once, each with its JSON path', () => {
  const bad = clone(received) as Record<string, unknown> & { data: Record<string, unknown> };
  bad.specversion = '0.3';
  delete bad.id;
  bad.Source = 'x';
  bad.data.channel = 'web';
  bad.data.receivedAt = 1719800000;
  delete bad.data.applicantType;
  bad.data.components = [{ code: 'TP 01', digitized: 'yes', colour: 'red' }];
  const paths = expectProblems(bad).map((p) => p.path).sort();
  assert.deepEqual(paths, [
    "$['Source']",
    '$.data.applicantType',
    '$.data.channel',
    '$.data.components[0].code',
    '$.data.components[0].colour',
    '$.data.components[0].digitized',
    '$.data.receivedAt',
    '$.id',
    '$.specversion',
  ].sort());
});

test('envelope: extension names, binary data and non-JSON content types are refused', () => {
  assert.deepEqual(expectProblems({ ...clone(received), 'x-trace': '1' }).map((p) => p.path), ["$['x-trace']"]);
  assert.deepEqual(expectProblems({ ...clone(received), ext: { a: 1 } }).map((p) => p.path), ['$.ext']);
  assert.deepEqual(expectProblems({ ...clone(received), data_base64: 'AAAA' }).map((p) => p.path), ['$.data_base64']);
  assert.deepEqual(expectProblems({ ...clone(received), datacontenttype: 'application/xml' }).map((p) => p.path), ['$.datacontenttype']);
  assert.ok(parseCloudEvent({ ...clone(received), datacontenttype: 'application/json; charset=utf-8' }).ok);
  assert.deepEqual(expectProblems({ ...clone(received), id: 'a\ud800' }).map((p) => p.path), ['$.id']);
});

test('lists must be non-empty when present', () => {
  const bad = clone(received) as { data: Record<string, unknown> };
  bad.data.components = [];
  const [p] = expectProblems(bad);
  assert.equal(p?.path, '$.data.components');
  assert.match(p?.message ?? '', /omit the field/);
});

test('non-objects and exotic inputs are answered, never thrown', () => {
  for (const input of [null, undefined, 42, 'event', [], [received], new Date()]) {
    const problems = expectProblems(input);
    assert.ok(problems.every((p) => p.path.startsWith('$')));
  }
  const hostile = new Proxy({}, { ownKeys: () => { throw new Error('boom'); } });
  assert.equal(expectProblems(hostile)[0]?.path, '$');
});

/**
 * Each message must name the field (its path without `$.`) and say what was expected; checked for one
 * failure of every kind of field.
 */
test('validation messages name the field and what was expected', () => {
  const cases: { mutate: (e: Record<string, any>) => void; path: string; expected: RegExp }[] = [
    { mutate: (e) => delete e.data.receivedAt, path: '$.data.receivedAt', expected: /data\.receivedAt is required: expected an RFC 3339 timestamp with offset/ },
    { mutate: (e) => (e.data.receivedAt = '2025-07-01T08:30:00'), path: '$.data.receivedAt', expected: /data\.receivedAt: expected an RFC 3339 timestamp with offset.*"2025-07-01T08:30:00".*no UTC offset/ },
    { mutate: (e) => (e.data.channel = 'web'), path: '$.data.channel', expected: /data\.channel: expected one of direct, online, postal, got "web"/ },
    { mutate: (e) => (e.data.applicantType = 1), path: '$.data.applicantType', expected: /data\.applicantType: expected one of citizen, business, got 1/ },
    { mutate: (e) => (e.data.feeRequired = 'true'), path: '$.data.feeRequired', expected: /data\.feeRequired: expected true or false, got "true"/ },
    { mutate: (e) => (e.data.statutoryHours = -8), path: '$.data.statutoryHours', expected: /data\.statutoryHours: expected a positive number of hours.*got -8/ },
    { mutate: (e) => (e.data.unitCode = ''), path: '$.data.unitCode', expected: /data\.unitCode: expected a code of 1-100 characters/ },
    { mutate: (e) => (e.data.components = 'TP01'), path: '$.data.components', expected: /data\.components: expected a non-empty array of components, got "TP01"/ },
    { mutate: (e) => (e.data.components[0].digitized = 1), path: '$.data.components[0].digitized', expected: /data\.components\[0\]\.digitized: expected true or false, got 1/ },
    { mutate: (e) => (e.data.colour = 'red'), path: '$.data.colour', expected: /data\.colour is not a known field \(vn\.gov\.tthc\.dossier\.received data\)/ },
    { mutate: (e) => (e.data = 'x'), path: '$.data', expected: /data: expected a JSON object, got "x"/ },
    { mutate: (e) => delete e.data, path: '$.data', expected: /data is required: expected a JSON object/ },
    { mutate: (e) => (e.specversion = '1'), path: '$.specversion', expected: /specversion: expected the string "1\.0", got "1"/ },
    { mutate: (e) => (e.id = ''), path: '$.id', expected: /id: expected a non-empty event id/ },
    { mutate: (e) => (e.source = 'has space'), path: '$.source', expected: /source: expected a URI-reference without spaces/ },
    { mutate: (e) => (e.type = 'dossier.received'), path: '$.type', expected: /type: expected a known dossier event type.*got "dossier\.received"/ },
    { mutate: (e) => (e.time = 1719800000), path: '$.time', expected: /time: expected an RFC 3339 timestamp with offset.*got 1719800000/ },
    { mutate: (e) => (e.subject = 'D-2'), path: '$.subject', expected: /subject: expected the dossier code "000\.00\.17\.H21-250701-0001" \(subject must equal data\.dossierCode\), got "D-2"/ },
    { mutate: (e) => (e.Trace = 'x'), path: "$['Trace']", expected: /attribute Trace is not a CloudEvents attribute: extension attribute names are 1-20 lower-case letters or digits/ },
  ];
  for (const c of cases) {
    const input = clone(received) as Record<string, any>;
    c.mutate(input);
    const problems = expectProblems(input);
    const p = problems.find((x) => x.path === c.path);
    assert.ok(p, `${c.path} not reported; got ${JSON.stringify(problems)}`);
    assert.match(p.message, c.expected);
  }
  const fee = clone(EXAMPLE_EVENTS.fee_paid) as Record<string, any>;
  fee.data.amount = 1.5;
  fee.data.method = 'cash';
  const fp = expectProblems(fee);
  assert.match(fp.find((p) => p.path === '$.data.amount')?.message ?? '', /data\.amount: expected a whole non-negative amount in VND, got 1\.5/);
  assert.match(fp.find((p) => p.path === '$.data.method')?.message ?? '', /data\.method: expected one of national_portal, local_gateway, offline, got "cash"/);
  const issued = clone(EXAMPLE_EVENTS.result_issued) as Record<string, any>;
  issued.data.resultFileUrl = 'not a url';
  assert.match(expectProblems(issued)[0]?.message ?? '', /data\.resultFileUrl: expected an absolute URL/);
});

test('property: every valid event survives JSON text → parseCloudEvent exactly', () => {
  fc.assert(
    fc.property(arbitraryEvent(), (e) => {
      const r = parseCloudEvent(JSON.parse(JSON.stringify(toCloudEventJson(e))));
      assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
      assert.deepStrictEqual(r.event, e);
    }),
    { numRuns: 1500 },
  );
});

function isRequired(type: EventType, key: string): boolean {
  const shape = (DATA_SCHEMAS[type] as unknown as { shape: Record<string, { safeParse(v: unknown): { success: boolean } }> }).shape;
  return shape[key]?.safeParse(undefined).success === false;
}

type Corruption = { input: Record<string, unknown>; path: string };

/** A valid event in JSON form and a corruption of it, with the path the problem must be reported at. */
const corrupted: fc.Arbitrary<Corruption> = fc
  .tuple(arbitraryEvent(), fc.nat(), fc.nat(), fc.constantFrom('drop', 'retype', 'timestamp', 'type', 'subject', 'unknownField'))
  .map(([event, i, j, kind]): Corruption => {
    const json = clone(toCloudEventJson(event)) as Record<string, unknown> & { data: Record<string, unknown> };
    const type = event.type;
    const requiredData = Object.keys(json.data).filter((k) => isRequired(type, k));
    const envelope = ['specversion', 'id', 'source', 'type', 'time', 'subject', 'data'];
    const wrong = [42, -1.5, true, [], {}, 'x y', ''];
    switch (kind) {
      case 'drop': {
        const all = [...envelope.map((k) => ({ k, inData: false })), ...requiredData.map((k) => ({ k, inData: true }))];
        const pick = all[i % all.length] as { k: string; inData: boolean };
        if (pick.inData) delete json.data[pick.k];
        else delete json[pick.k];
        // Without a type the data cannot be checked, but it is still reported missing.
        return { input: json, path: pick.inData ? `$.data.${pick.k}` : `$.${pick.k}` };
      }
      case 'retype': {
        const keys = Object.keys(json.data);
        const k = keys[i % keys.length] as string;
        const schema = (DATA_SCHEMAS[type] as unknown as { shape: Record<string, { safeParse(v: unknown): { success: boolean } }> }).shape[k];
        const candidates = wrong.filter((w) => schema?.safeParse(w).success === false);
        json.data[k] = candidates[j % candidates.length];
        return { input: json, path: `$.data.${k}` };
      }
      case 'timestamp': {
        const keys = ['time', ...Object.keys(json.data).filter((k) => k.endsWith('At'))];
        const k = keys[i % keys.length] as string;
        const bad = ['2025-07-01T08:30:00', '2025-07-01', '01/07/2025 08:30', '2025-02-30T08:30:00Z', '2025-07-01T08:30:00+7:00'][j % 5];
        if (k === 'time') json.time = bad;
        else json.data[k] = bad;
        return { input: json, path: k === 'time' ? '$.time' : `$.data.${k}` };
      }
      case 'type':
        json.type = ['vn.gov.tthc.dossier.approved', 'received', 'VN.GOV.TTHC.DOSSIER.RECEIVED', ''][j % 4];
        return { input: json, path: '$.type' };
      case 'subject':
        json.subject = `${String(json.subject)}X`;
        return { input: json, path: '$.subject' };
      default:
        json.data[`zz${i}`] = 1;
        return { input: json, path: `$.data.zz${i}` };
    }
  });

test('property: corrupted events are rejected with a problem at the corrupted path, never an exception', () => {
  fc.assert(
    fc.property(corrupted, ({ input, path }) => {
      const r = parseCloudEvent(input);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.ok(r.problems.some((p) => p.path === path), `${path} not in ${JSON.stringify(r.problems)}`);
      for (const p of r.problems) {
        assert.match(p.path, /^\$/);
        assert.ok(p.message.length > 10);
      }
    }),
    { numRuns: 1500 },
  );
});

test('property: arbitrary JSON never makes parseCloudEvent throw', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.record({ specversion: fc.constant('1.0'), type: fc.constantFrom(...EVENT_TYPES), data: fc.jsonValue() })), (v) => {
      const r = parseCloudEvent(v);
      assert.equal(r.ok, false);
    }),
    { numRuns: 1000 },
  );
});
