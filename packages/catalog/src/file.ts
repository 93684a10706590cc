/**
 * Reading a catalog from disk. Kept apart from the pure parser (catalog.ts) and exported on its own subpath
 * (`@iocbus/catalog/file`) so that importing `@iocbus/catalog` never pulls in `fs`.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseCatalogText, type Catalog } from './catalog.js';
import { CatalogReadError } from './errors.js';

/**
 * The illustrative SAMPLE catalog shipped for tests and demos. Its codes follow real formats (H21.17 for a
 * department, H21.227 for a commune, 1.004227-style national procedure codes) but it is not an official list.
 */
export const SAMPLE_CATALOG_PATH = fileURLToPath(new URL('../data/sample-catalog.json', import.meta.url));

export async function loadCatalogFile(path: string): Promise<Catalog> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CatalogReadError(path, err);
  }
  return parseCatalogText(text, path);
}

export function loadSampleCatalog(): Promise<Catalog> {
  return loadCatalogFile(SAMPLE_CATALOG_PATH);
}
