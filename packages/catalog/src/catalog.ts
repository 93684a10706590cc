/**
 * Pure parsing of a catalog document into lookup tables. No I/O here: `file.ts` reads from disk and hands the
 * JSON to these functions, so the engine, the view and tests can build a catalog from any source.
 */
import type { z } from 'zod';
import { CatalogInvalidError, type CatalogProblem } from './errors.js';
import {
  catalogFileSchema,
  type CatalogFile,
  type ProcedureEntry,
  type SectorEntry,
  type UnitEntry,
} from './schema.js';

export interface Catalog {
  /** The data version of the file this catalog was read from. */
  readonly version: string;
  /** True when built from illustrative sample data. */
  readonly sample: boolean;
  readonly province: { readonly code: string; readonly name: string };
  readonly units: readonly UnitEntry[];
  readonly procedures: readonly ProcedureEntry[];
  readonly sectors: readonly SectorEntry[];
  unit(code: string): UnitEntry | undefined;
  procedure(code: string): ProcedureEntry | undefined;
  sector(code: string): SectorEntry | undefined;
}

function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  return out;
}

function zodProblems(error: z.ZodError): CatalogProblem[] {
  return error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
}

/** Checks the schema cannot express: unique codes, parents that exist, no parent cycles, known sectors. */
function crossCheck(file: CatalogFile): CatalogProblem[] {
  const problems: CatalogProblem[] = [];
  const unitIndex = new Map<string, number>();
  file.units.forEach((u, i) => {
    const prev = unitIndex.get(u.code);
    if (prev !== undefined) problems.push({ path: `$.units[${i}].code`, message: `duplicate unit code ${u.code} (first at $.units[${prev}])` });
    else unitIndex.set(u.code, i);
    if (u.code === file.province.code) problems.push({ path: `$.units[${i}].code`, message: `unit code ${u.code} is the province's own code` });
  });
  file.units.forEach((u, i) => {
    if (u.parent !== null && u.parent !== file.province.code && !unitIndex.has(u.parent)) {
      problems.push({ path: `$.units[${i}].parent`, message: `parent ${u.parent} is neither the province nor a unit in this file` });
    }
  });
  // Walk each unit's parent chain; a chain longer than the unit count has a cycle.
  file.units.forEach((u, i) => {
    let cur: string | null = u.parent;
    for (let steps = 0; cur !== null && cur !== file.province.code; steps++) {
      if (steps > file.units.length) {
        problems.push({ path: `$.units[${i}].parent`, message: `parent chain of ${u.code} has a cycle` });
        break;
      }
      const at = unitIndex.get(cur);
      if (at === undefined) break;
      cur = file.units[at]?.parent ?? null;
    }
  });
  const procIndex = new Map<string, number>();
  const sectors = file.sectors === undefined ? undefined : new Set(file.sectors.map((s) => s.code));
  file.procedures.forEach((p, i) => {
    const prev = procIndex.get(p.code);
    if (prev !== undefined) problems.push({ path: `$.procedures[${i}].code`, message: `duplicate procedure code ${p.code} (first at $.procedures[${prev}])` });
    else procIndex.set(p.code, i);
    if (sectors !== undefined && !sectors.has(p.sectorCode)) {
      problems.push({ path: `$.procedures[${i}].sectorCode`, message: `sector ${p.sectorCode} is not listed in $.sectors` });
    }
  });
  const sectorIndex = new Map<string, number>();
  file.sectors?.forEach((s, i) => {
    const prev = sectorIndex.get(s.code);
    if (prev !== undefined) problems.push({ path: `$.sectors[${i}].code`, message: `duplicate sector code ${s.code} (first at $.sectors[${prev}])` });
    else sectorIndex.set(s.code, i);
  });
  return problems;
}

/**
 * Validates a parsed JSON document and builds the catalog. Throws CatalogInvalidError listing every problem.
 * `source` names the document in the error (a file path, "inline", …).
 */
export function parseCatalog(json: unknown, source = 'inline'): Catalog {
  const parsed = catalogFileSchema.safeParse(json);
  if (!parsed.success) throw new CatalogInvalidError(source, zodProblems(parsed.error));
  const problems = crossCheck(parsed.data);
  if (problems.length > 0) throw new CatalogInvalidError(source, problems);
  return buildCatalog(parsed.data);
}

/** Same as parseCatalog, from the file's text. */
export function parseCatalogText(text: string, source = 'inline'): Catalog {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CatalogInvalidError(source, [{ path: '$', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  return parseCatalog(json, source);
}

function buildCatalog(file: CatalogFile): Catalog {
  const units = new Map(file.units.map((u) => [u.code, u]));
  const procedures = new Map(file.procedures.map((p) => [p.code, p]));
  const sectorList = file.sectors ?? [];
  const sectors = new Map(sectorList.map((s) => [s.code, s]));
  return Object.freeze({
    version: file.version,
    sample: file.sample === true,
    province: file.province,
    units: file.units,
    procedures: file.procedures,
    sectors: sectorList,
    unit: (code: string) => units.get(code),
    procedure: (code: string) => procedures.get(code),
    sector: (code: string) => sectors.get(code),
  });
}
