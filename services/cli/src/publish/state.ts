/**
 * The publisher's resume point: a small JSON file written atomically (temp file + rename) after every
 * batch whose events all have a final answer. It names the input by size and a hash of its head, so a
 * resume against a different file is refused instead of skipping the wrong lines.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, stat, writeFile } from 'node:fs/promises';

export const STATE_FORMAT = 'iocbus.publish-state/v1';
const HEAD_BYTES = 64 * 1024;

export interface PublishCounts {
  lines: number;
  blank: number;
  accepted: number;
  duplicate: number;
  rejected: number;
}

export interface PublishState {
  format: typeof STATE_FORMAT;
  file: string;
  /** sha256 of the file's first 64 KiB when the run began. */
  headSha256: string;
  target: string;
  /** The next line to send and the byte offset it starts at. */
  nextLine: number;
  nextOffset: number;
  /** Length of the rejects file that matches this point (a resume truncates anything after it). */
  rejectsBytes: number;
  counts: PublishCounts;
  done: boolean;
  updatedAt: string;
}

export async function headHash(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
    return createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex');
  } finally {
    await handle.close();
  }
}

export async function readState(path: string): Promise<PublishState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as PublishState;
  if (state.format !== STATE_FORMAT) throw new Error(`${path} is not a publish state file (format ${String(state.format)})`);
  return state;
}

export async function writeState(path: string, state: PublishState): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, path);
}

/** Why a saved state cannot be resumed against this file, or undefined when it can. */
export async function resumeProblem(state: PublishState, file: string): Promise<string | undefined> {
  const size = (await stat(file)).size;
  if (size < state.nextOffset) return `${file} is shorter (${size} bytes) than where the previous run stopped (${state.nextOffset})`;
  if ((await headHash(file)) !== state.headSha256) return `${file} is not the file the previous run read (its first 64 KiB differ)`;
  return undefined;
}
