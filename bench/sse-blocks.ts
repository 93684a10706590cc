/**
 * The benches' Server-Sent-Events reader: calls `onBlock` with each complete event block (the text between blank
 * lines) and the time its chunk arrived, so a latency counts from the socket read, not from the parsing after it.
 */
import type { IncomingMessage } from 'node:http';

const now = (): number => performance.timeOrigin + performance.now();

export function onSseBlocks(res: IncomingMessage, onBlock: (block: string, at: number) => void): void {
  res.setEncoding('utf8');
  let buf = '';
  res.on('data', (chunk: string) => {
    const at = now();
    buf += chunk;
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      onBlock(block, at);
    }
  });
}
