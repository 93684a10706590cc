import { IocError } from '@iocbus/errors';

/** One thing wrong with a catalog file, with the JSON path it was found at. */
export interface CatalogProblem {
  path: string;
  message: string;
}

/**
 * The catalog file is not a valid catalog. Not retriable: the same file gives the same answer; every problem
 * is listed at once so an operator fixes the file in one pass.
 */
export class CatalogInvalidError extends IocError {
  readonly problems: readonly CatalogProblem[];

  constructor(source: string, problems: readonly CatalogProblem[]) {
    const first = problems[0];
    const head = first === undefined ? 'invalid catalog' : `${first.path}: ${first.message}`;
    const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
    super('IOC_CATALOG_INVALID', `catalog ${source} is invalid: ${head}${more}`, {
      retriable: false,
      details: { source, problems },
    });
    this.name = 'CatalogInvalidError';
    this.problems = problems;
  }
}

/** The catalog file could not be read (missing, unreadable, not JSON). */
export class CatalogReadError extends IocError {
  constructor(path: string, cause: unknown) {
    super('IOC_CATALOG_READ', `cannot read catalog file ${path}`, { retriable: false, cause, details: { path } });
    this.name = 'CatalogReadError';
  }
}
