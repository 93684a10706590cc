/**
 * The versioned catalog file: the province's units (departments and communes) and the administrative
 * procedures they handle. It is configuration, never code: provinces merge and renumber (since 7/2025 the
 * two-tier province → commune model), so `district` survives only as an optional historical attribute.
 */
import { z } from 'zod';

/** The file-format version this module reads; the data version is the file's own `version`. */
export const CATALOG_FORMAT = 'iocbus.catalog/v1';

export const UNIT_GROUPS = ['department', 'commune'] as const;
export type UnitGroup = (typeof UNIT_GROUPS)[number];

export const ONLINE_LEVELS = ['full', 'partial', 'none'] as const;
export type OnlineLevel = (typeof ONLINE_LEVELS)[number];

const code = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[^\s\p{Cc}]+$/u, { error: 'expected a code without spaces or control characters' });
const name = z.string().trim().min(1).max(500);

export const unitSchema = z.strictObject({
  code,
  name,
  group: z.enum(UNIT_GROUPS),
  /** The province code or another unit's code; null only for a unit directly under the central government. */
  parent: code.nullable(),
  /** Pre-2025 district the commune belonged to, kept for history and old reports only. */
  district: z.string().trim().min(1).max(200).optional(),
});

export const procedureSchema = z.strictObject({
  /** National procedure code (MaTTHC), e.g. 1.004227. */
  code,
  name,
  /** Sector code (MaLinhVuc). */
  sectorCode: code,
  onlineLevel: z.enum(ONLINE_LEVELS),
  paperResultRequired: z.boolean(),
  /** Fee in VND (whole dong); 0 when the procedure is free. */
  fee: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

export const sectorSchema = z.strictObject({ code, name });

export const catalogFileSchema = z.strictObject({
  format: z.literal(CATALOG_FORMAT),
  /** Data version, e.g. "2025-07-01.3": bumped on every change so consumers can tell which one they run. */
  version: z.string().trim().min(1).max(100),
  /** True for illustrative data that must never be mistaken for an official list. */
  sample: z.boolean().optional(),
  note: z.string().max(2000).optional(),
  province: z.strictObject({ code, name }),
  sectors: z.array(sectorSchema).optional(),
  units: z.array(unitSchema),
  procedures: z.array(procedureSchema),
});

export type UnitEntry = z.output<typeof unitSchema>;
export type ProcedureEntry = z.output<typeof procedureSchema>;
export type SectorEntry = z.output<typeof sectorSchema>;
export type CatalogFile = z.output<typeof catalogFileSchema>;
