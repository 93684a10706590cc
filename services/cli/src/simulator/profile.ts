/**
 * The simulation profile: how much each unit receives, when, through which channel, and how its dossiers
 * tend to go. Configuration like the catalog it refers to (never code), validated once with every problem
 * reported at once. The shipped profile is SAMPLE data.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Catalog } from '@iocbus/catalog';
import { IocError } from '@iocbus/errors';
import { z } from 'zod';
import { parseClock, type OfficeCalendar } from './calendar.js';

export const PROFILE_FORMAT = 'iocbus.simulation-profile/v1';
export const SAMPLE_PROFILE_PATH = fileURLToPath(new URL('../../data/sample-simulation-profile.json', import.meta.url));

const share = z.number().min(0).max(1);
const positive = z.number().positive();
const spread = z.strictObject({ median: positive, sigma: z.number().min(0).max(3) });
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected hh:mm' });
const code = z.string().min(1).max(100).regex(/^[^\s\p{Cc}]+$/u);
const week = z.array(z.number().min(0)).length(7);
const day = z.array(z.number().min(0)).length(24);

const unitSchema = z.strictObject({
  code,
  /** Multiplies every procedure volume of this unit (a large urban ward vs a small rural commune). */
  sizeFactor: positive.default(1),
  /** Probability that a dossier here ends within its deadline. */
  onTimeRate: share.default(0.97),
  /** CloudEvents source of the unit's system; default /agencies/<code>/igate. */
  source: z.string().min(1).max(512).optional(),
  /** A system that uploads in batches: every `everyMinutes` (local clock), events at least `lagMinutes` old. */
  sync: z.strictObject({ everyMinutes: z.number().int().min(1).max(1440), lagMinutes: z.number().min(0).max(1440).default(0) }).optional(),
  digitizedAtIntakeOffline: share.optional(),
  syncedNational: share.optional(),
});

const procedureSchema = z.strictObject({
  code,
  /** "communes" (every commune of the catalog) or a list of unit codes. */
  handledBy: z.union([z.literal('communes'), z.array(code).min(1)]),
  /** Dossiers per handling unit on an average working day (before the unit's sizeFactor). */
  perUnitPerDay: z.number().min(0),
  /** Statutory time limit in office hours (8 per working day). */
  statutoryHours: positive,
  /** Share submitted online; forced to 0 for a procedure the catalog lists as onlineLevel "none". */
  online: share,
  supplementRate: share.default(0.05),
  /** Share of on-time dossiers finished well before the deadline. */
  earlyShare: share.default(0.5),
  /**
   * Median office hours an on-time dossier really takes, for procedures done far inside their limit
   * (a certified copy takes minutes, not the half day the law allows). Absent: a share of the limit.
   */
  typicalHours: positive.optional(),
  /** Lowers the unit's on-time rate for hard procedures. */
  latePenalty: share.default(0),
  applicant: z.enum(['citizen', 'business', 'mixed']).default('citizen'),
  /** Unit the dossier is transferred to after intake (e.g. a commune forwarding to the land registry). */
  transferTo: code.optional(),
  components: z.array(code).min(1).max(20),
});

export const profileSchema = z.strictObject({
  format: z.literal(PROFILE_FORMAT),
  sample: z.boolean().optional(),
  note: z.string().max(2000).optional(),
  catalogVersion: z.string().optional(),
  office: z.strictObject({
    sessions: z.array(z.tuple([clock, clock])).min(1),
    workingDays: z.array(z.number().int().min(0).max(6)).min(1),
  }),
  curves: z.strictObject({
    weekdayDirect: week,
    weekdayOnline: week,
    hourDirect: day,
    hourOnline: day,
  }),
  rates: z.strictObject({
    postalShareOfOffline: share,
    intakeRejected: share,
    intakeDelayMinutes: spread,
    digitizedAtIntakeOffline: share,
    lateDigitizationMinutes: spread,
    reusedComponent: share,
    personalStoreOnline: share,
    vneidOnline: share,
    populationDb: share,
    withdrawn: share,
    stopped: share,
    secondSupplement: share,
    supplyDelayHours: spread,
    lateWorkHours: spread,
    extensionWhenLate: share,
    feeDelayMinutes: spread,
    payDelayMinutes: spread,
    paidOnlineWhenOnline: share,
    paidOnlineWhenOffline: share,
    nationalPortalShareOfOnlinePayments: share,
    electronicResultPaperRequired: share,
    electronicResultNoPaper: share,
    resultReturned: share,
    pickupDelayHours: spread,
    ratedOnline: share,
    ratedOffline: share,
    ratings: z.strictObject({ satisfied: z.number().min(0), neutral: z.number().min(0), dissatisfied: z.number().min(0) }),
    dissatisfiedWhenLate: share,
    syncedNational: share,
    syncDelayMinutes: spread,
  }),
  units: z.array(unitSchema),
  procedures: z.array(procedureSchema).min(1),
});

export type SimulationProfile = z.output<typeof profileSchema>;
export type UnitProfile = z.output<typeof unitSchema>;
export type ProcedureProfile = z.output<typeof procedureSchema>;

export class ProfileInvalidError extends IocError {
  constructor(
    source: string,
    readonly problems: readonly string[],
  ) {
    super('IOC_SIMULATOR_PROFILE_INVALID', `simulation profile ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      retriable: false,
      details: { source, problems },
    });
    this.name = 'ProfileInvalidError';
  }
}

function pathOf(segments: readonly PropertyKey[]): string {
  let out = '$';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : `.${String(s)}`;
  return out;
}

/** Codes the profile names must exist in the catalog it runs against: a typo would silently simulate nothing. */
function crossCheck(profile: SimulationProfile, catalog: Catalog): string[] {
  const problems: string[] = [];
  profile.units.forEach((u, i) => {
    if (catalog.unit(u.code) === undefined) problems.push(`$.units[${i}].code: unit ${u.code} is not in catalog ${catalog.version}`);
  });
  profile.procedures.forEach((p, i) => {
    if (catalog.procedure(p.code) === undefined) problems.push(`$.procedures[${i}].code: procedure ${p.code} is not in catalog ${catalog.version}`);
    if (Array.isArray(p.handledBy)) {
      p.handledBy.forEach((c, j) => {
        if (catalog.unit(c) === undefined) problems.push(`$.procedures[${i}].handledBy[${j}]: unit ${c} is not in catalog ${catalog.version}`);
      });
    }
    if (p.transferTo !== undefined && catalog.unit(p.transferTo) === undefined) {
      problems.push(`$.procedures[${i}].transferTo: unit ${p.transferTo} is not in catalog ${catalog.version}`);
    }
  });
  for (const [s, e] of profile.office.sessions) {
    if (parseClock(s) >= parseClock(e)) problems.push(`$.office.sessions: session ${s}-${e} ends before it starts`);
  }
  return problems;
}

export function parseProfile(json: unknown, catalog: Catalog, source = 'inline'): SimulationProfile {
  const parsed = profileSchema.safeParse(json);
  if (!parsed.success) throw new ProfileInvalidError(source, parsed.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`));
  const problems = crossCheck(parsed.data, catalog);
  if (problems.length > 0) throw new ProfileInvalidError(source, problems);
  return parsed.data;
}

export async function loadProfileFile(path: string, catalog: Catalog): Promise<SimulationProfile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ProfileInvalidError(path, [`cannot read: ${(err as Error).message}`]);
  }
  return parseProfile(json, catalog, path);
}

export function officeCalendar(profile: SimulationProfile): OfficeCalendar {
  return {
    sessions: profile.office.sessions.map(([s, e]) => [parseClock(s), parseClock(e)] as const),
    workingDays: profile.office.workingDays,
  };
}
