/**
 * Creates an API key and prints the entry to add to the key file; the key itself is shown once, never stored.
 *
 *   node --import tsx services/gateway/src/hash-key.ts <key-id> <source>[,<source>…] <unit>[,<unit>…] [sha256|scrypt]
 */
import { generateApiKey } from './api-keys.js';

const [id, sources, units, scheme = 'sha256'] = process.argv.slice(2);
if (id === undefined || sources === undefined || units === undefined || (scheme !== 'sha256' && scheme !== 'scrypt')) {
  process.stderr.write('usage: hash-key.ts <key-id> <sources,…> <units,…> [sha256|scrypt]\n');
  process.exit(2);
}
const { key, hash } = await generateApiKey(id, scheme);
process.stdout.write(
  `${JSON.stringify({ key, entry: { id, hash, sources: sources.split(','), units: units.split(',') } }, null, 2)}\n`,
);
