#!/usr/bin/env node
// The installed `iocbus` command. iocbus runs from its TypeScript sources through tsx (see the root README),
// so the bin registers tsx's loader and hands over to src/main.ts.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';

register();
const { main } = await import(fileURLToPath(new URL('../src/main.ts', import.meta.url)));
process.exit(await main(process.argv.slice(2)));
