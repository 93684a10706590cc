/** Builds a simulator from command-line style settings: catalog, profile, seed, start and scale. */
import type { Catalog } from '@iocbus/catalog';
import { loadCatalogFile, loadSampleCatalog } from '@iocbus/catalog/file';
import { ProvinceSimulator, SAMPLE_PROFILE_PATH, dayStart, loadProfileFile, localDay } from '../simulator/index.js';

export interface SimulatorSettings {
  seed: number | string;
  startMs: number;
  scale?: number;
  catalogFile?: string;
  profileFile?: string;
  catalog?: Catalog;
}

export async function buildSimulator(settings: SimulatorSettings): Promise<{ simulator: ProvinceSimulator; catalog: Catalog }> {
  const catalog = settings.catalog ?? (settings.catalogFile === undefined ? await loadSampleCatalog() : await loadCatalogFile(settings.catalogFile));
  const profile = await loadProfileFile(settings.profileFile ?? SAMPLE_PROFILE_PATH, catalog);
  const simulator = new ProvinceSimulator({
    catalog,
    profile,
    seed: settings.seed,
    startMs: settings.startMs,
    ...(settings.scale === undefined ? {} : { scale: settings.scale }),
  });
  return { simulator, catalog };
}

/** Local midnight (Asia/Ho_Chi_Minh) of the day holding `ms`. */
export function startOfLocalDay(ms: number): number {
  return dayStart(localDay(ms));
}

/** A seed given on the command line: digits are a number, anything else is hashed as text. */
export function seedOf(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}
