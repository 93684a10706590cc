import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { KAFKA_VERSION } from './kafka.js';
import { kafkaCacheDir, kafkaPom, resolveKafkaJars } from './kafka-jars.js';

test('the pom pins an SLF4J 2 API ahead of Kafka so the log4j2 SLF4J 2 provider binds', () => {
  const pom = kafkaPom('4.4.0');
  assert.ok(pom.indexOf('<artifactId>slf4j-api</artifactId><version>2.') < pom.indexOf('<artifactId>kafka_2.13</artifactId><version>4.4.0<'));
  assert.match(pom, /log4j-slf4j2-impl/);
  assert.match(pom, /log4j-core/);
});

test('the cache folder follows IOCBUS_CACHE_DIR', () => {
  assert.equal(kafkaCacheDir('4.4.0', undefined, { IOCBUS_CACHE_DIR: '/srv/cache' }), '/srv/cache/kafka-4.4.0');
  assert.equal(kafkaCacheDir('4.4.0', '/x', { IOCBUS_CACHE_DIR: '/srv/cache' }), '/x/kafka-4.4.0');
  assert.match(kafkaCacheDir('4.4.0', undefined, {}), /\.cache\/iocbus\/kafka-4\.4\.0$/);
});

test('a complete cache is reused without running Maven, and holds one SLF4J API of major 2', async () => {
  const version = process.env['IOCBUS_KAFKA_VERSION'] ?? KAFKA_VERSION;
  await resolveKafkaJars({ version });
  const logged: string[] = [];
  const started = Date.now();
  const again = await resolveKafkaJars({ version, log: (line) => logged.push(line) });
  assert.equal(again.downloaded, false);
  assert.deepEqual(logged, []);
  assert.ok(Date.now() - started < 1_000, 'a cache hit must not pay for a Maven start');
  const jars = await readdir(again.libsDir);
  assert.ok(jars.includes(`kafka_2.13-${version}.jar`));
  assert.deepEqual(jars.filter((j) => j.startsWith('slf4j-api-')).map((j) => j.split('-')[2]?.[0]), ['2']);
  assert.ok(jars.some((j) => j.startsWith('log4j-slf4j2-impl-')));
  assert.ok(jars.includes('.iocbus-complete'));
  assert.equal(join(again.libsDir, '..'), kafkaCacheDir(version));
});
