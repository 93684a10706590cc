export { parseCatalog, parseCatalogText, type Catalog } from './catalog.js';
export { CatalogInvalidError, CatalogReadError, type CatalogProblem } from './errors.js';
export {
  CATALOG_FORMAT,
  ONLINE_LEVELS,
  UNIT_GROUPS,
  catalogFileSchema,
  procedureSchema,
  sectorSchema,
  unitSchema,
  type CatalogFile,
  type OnlineLevel,
  type ProcedureEntry,
  type SectorEntry,
  type UnitEntry,
  type UnitGroup,
} from './schema.js';
