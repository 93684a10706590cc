#!/usr/bin/env -S node --max-semi-space-size=64
// The installed `iocbus` command. iocbus runs from its TypeScript sources through tsx (see the root README),
// so the bin registers tsx's loader and hands over to src/main.ts. The node flag is the gateway's
// (services/gateway/src/node-flags.ts: it has to be on node's command line).
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';

register();
const { main } = await import(fileURLToPath(new URL('../src/main.ts', import.meta.url)));
process.exit(await main(process.argv.slice(2)));
