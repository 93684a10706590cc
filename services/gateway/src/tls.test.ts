import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createInProcessBus } from '@iocbus/bus';
import { parseCloudEvent, toProtoCloudEvent } from '@iocbus/events';
import { bearer, buildTestGateway, callUnary, ingestClient, sampleEvent, testConfig, testKeys } from './test-support.js';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl for this test. */
function certificates(): { dir: string; ca: Buffer; serverCert: Buffer; serverKey: Buffer; clientCert: Buffer; clientKey: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'iocbus-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=iocbus test CA');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const name of ['server', 'client']) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', ...(name === 'server' ? ['-extfile', 'server.ext'] : []));
  }
  const read = (f: string) => readFileSync(join(dir, f));
  return { dir, ca: read('ca.pem'), serverCert: read('server.pem'), serverKey: read('server.key'), clientCert: read('client.pem'), clientKey: read('client.key') };
}

test('with a client CA configured, gRPC requires a client certificate (mTLS) and the API key still applies', async (t) => {
  const certs = certificates();
  t.after(() => rmSync(certs.dir, { recursive: true, force: true }));
  const keys = await testKeys();
  const bus = createInProcessBus();
  const topic = 'iocbus.dossier-events.v1';
  await bus.admin.ensureTopics([{ name: topic, partitions: 1 }]);
  const { gateway } = buildTestGateway(testConfig(topic), keys, bus.log, async () => undefined, {
    grpcTls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca },
  });
  const { grpcPort } = await gateway.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  t.after(() => gateway.close());
  const parsed = parseCloudEvent(sampleEvent());
  assert.ok(parsed.ok);
  const request = { event: toProtoCloudEvent(parsed.event) };
  const deadline = { 'grpc.initial_reconnect_backoff_ms': 100 };

  const mutual = ingestClient(grpcPort, grpc.credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert), deadline);
  t.after(() => mutual.close());
  const ok = await callUnary(mutual.Publish, mutual, request, bearer(keys.agency));
  assert.equal(ok.result.status, 'EVENT_STATUS_ACCEPTED');
  await assert.rejects(callUnary(mutual.Publish, mutual, request, bearer(undefined)), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);

  for (const credentials of [grpc.credentials.createSsl(certs.ca), grpc.credentials.createInsecure()]) {
    const client = ingestClient(grpcPort, credentials, deadline);
    t.after(() => client.close());
    const metadata = bearer(keys.agency);
    await assert.rejects(
      new Promise((resolve, reject) =>
        client.Publish(request, metadata, (err, res) => (err ? reject(err) : resolve(res))),
      ),
      (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE,
    );
  }
  assert.equal((await bus.source.readToEnd(topic)).length, 1);
});
