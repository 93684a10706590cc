/**
 * Progress on stderr: a bar redrawn in place on a terminal, or a plain line every few seconds when stderr
 * is a file or a pipe (CI logs), so long runs show they are alive without flooding the log.
 */

export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  stream?: ProgressSink;
  /** Redraw at most this often on a terminal; default 100 ms. */
  ttyIntervalMs?: number;
  /** Print at most this often otherwise; default 5 s. */
  lineIntervalMs?: number;
  quiet?: boolean;
  now?: () => number;
}

export class Progress {
  private readonly stream: ProgressSink;
  private readonly tty: boolean;
  private last = -Infinity;
  private drawn = false;

  constructor(private readonly options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** `fraction` in [0, 1] draws a bar; undefined shows only the text (open-ended runs). */
  update(text: string, fraction?: number, force = false): void {
    if (this.options.quiet === true) return;
    const t = this.now();
    const interval = this.tty ? (this.options.ttyIntervalMs ?? 100) : (this.options.lineIntervalMs ?? 5000);
    if (!force && t - this.last < interval) return;
    this.last = t;
    const line = fraction === undefined ? text : `${bar(fraction, 24)} ${(fraction * 100).toFixed(1).padStart(5)}% ${text}`;
    if (this.tty) {
      const width = Math.max(20, (this.stream.columns ?? 120) - 1);
      this.stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** A message that must not be overwritten by the bar. */
  log(text: string): void {
    if (this.options.quiet === true) return;
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(`${text}\n`);
    this.last = -Infinity;
  }

  done(text: string): void {
    if (this.options.quiet === true) return;
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(`${text}\n`);
    this.drawn = false;
  }
}

function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(f * width);
  return `[${'█'.repeat(full)}${full < width ? '░'.repeat(width - full) : ''}]`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
