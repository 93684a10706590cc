import type { ViewCore } from './core.js';
import { ViewError } from './errors.js';
import type { Hub } from './hub.js';

/** What the transports need from the view; `runtime` exists once the initial partials are loaded. */
export interface Serving {
  readonly runtime: { core: ViewCore; hub: Hub } | undefined;
  readonly closing: boolean;
  now(): number;
  progress(): { watermarkMs: number | null; progressTimeMs: number | null };
}

export function requireRuntime(serving: Serving): { core: ViewCore; hub: Hub } {
  if (serving.closing) throw new ViewError('IOC_VIEW_SHUTTING_DOWN', 'the view is shutting down');
  const rt = serving.runtime;
  if (rt === undefined) throw new ViewError('IOC_VIEW_NOT_READY', 'the view is still loading the initial partials');
  return rt;
}
