/**
 * Reads an NDJSON file line by line from a byte offset, reporting each line's number and the offset just
 * past it, so a publisher can record "done through here" and resume exactly there.
 */
import { open } from 'node:fs/promises';

export interface Line {
  /** 1-based line number in the file. */
  number: number;
  text: string;
  /** Byte offset just past this line's newline: where reading resumes. */
  end: number;
  /** Bytes of the line without its newline. */
  bytes: number;
}

const NEWLINE = 0x0a;
const CHUNK = 1 << 20;

export async function* readLines(path: string, fromOffset = 0, fromLine = 1): AsyncGenerator<Line> {
  const handle = await open(path, 'r');
  try {
    let position = fromOffset;
    let number = fromLine;
    let carry: Buffer = Buffer.alloc(0);
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, position);
      if (bytesRead === 0) break;
      const data = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      const dataStart = position - carry.length;
      position += bytesRead;
      let start = 0;
      for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
        yield toLine(data, start, nl, number++, dataStart + nl + 1);
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start));
    }
    if (carry.length > 0) yield toLine(carry, 0, carry.length, number, position);
  } finally {
    await handle.close();
  }
}

function toLine(data: Buffer, start: number, end: number, number: number, after: number): Line {
  let stop = end;
  if (stop > start && data[stop - 1] === 0x0d) stop--; // CRLF files
  let text = data.toString('utf8', start, stop);
  if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM some editors write
  return { number, text, end: after, bytes: stop - start };
}
