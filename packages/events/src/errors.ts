import { IocError } from '@iocbus/errors';
import type { Problem } from './problems.js';

/** A record or message could not be turned into a valid DossierEvent. Never retriable: the bytes will not change. */
export class EventDecodeError extends IocError {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[], options: { cause?: unknown } = {}) {
    const first = problems[0]?.message ?? 'invalid event';
    const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
    super('IOC_EVENTS_DECODE', `cannot decode dossier event: ${first}${more}`, {
      retriable: false,
      cause: options.cause,
      details: { problems },
    });
    this.name = 'EventDecodeError';
    this.problems = problems;
  }
}
