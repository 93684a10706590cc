import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { GATEWAY_NODE_FLAGS, missingNodeFlags } from './node-flags.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string): Promise<string> => readFile(new URL(path, root), 'utf8');

test('npm start, the iocbus command and the container image start node with the gateway flags', async () => {
  const start = (JSON.parse(await read('package.json')) as { scripts: { start: string } }).scripts.start;
  const shebang = (await read('services/cli/bin/iocbus.js')).split('\n')[0] as string;
  const dockerfile = await read('deploy/Dockerfile');
  const nodeOptions = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1];
  assert.ok(nodeOptions !== undefined, 'the image sets NODE_OPTIONS');
  for (const flag of GATEWAY_NODE_FLAGS) {
    assert.match(start, new RegExp(`^node (\\S+ )*${flag} `), `npm start: ${start}`);
    assert.match(shebang, new RegExp(`^#!/usr/bin/env -S node (\\S+ )*${flag}( |$)`), `bin/iocbus.js: ${shebang}`);
    assert.ok(nodeOptions.split(' ').includes(flag), `Dockerfile NODE_OPTIONS: ${nodeOptions}`);
  }
});

test('missing flags are found in neither the command line nor NODE_OPTIONS', () => {
  const [flag] = GATEWAY_NODE_FLAGS as [string];
  assert.deepEqual(missingNodeFlags(['--import', 'tsx'], ''), [...GATEWAY_NODE_FLAGS]);
  assert.deepEqual(missingNodeFlags([flag, '--import', 'tsx'], ''), []);
  assert.deepEqual(missingNodeFlags([], `--enable-source-maps ${flag}`), []);
  assert.deepEqual(missingNodeFlags([`${flag}0`], ''), [...GATEWAY_NODE_FLAGS], 'a different value is not the flag');
});
