import { randomBytes } from 'node:crypto';

/**
 * A name no other test (in this run or a previous one against the same broker) has used.
 * Time first so names sort by creation when listing topics on a long-lived broker.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
