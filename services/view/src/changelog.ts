/**
 * The shared, bounded change log the fan-out reads from. Each published change set is one segment (the
 * keys of values that changed, and the token state after it); a subscriber is only a cursor into it and
 * reads the current value of each key when it is ready to send, so a slow subscriber coalesces to the
 * latest values for free and costs no memory of its own. A cursor that falls off the log's tail (the
 * log keeps at most `maxKeys` keys) can no longer be served incrementally: that subscriber is reset.
 */
import type { TokenState } from './token.js';

export interface Segment {
  readonly seq: number;
  readonly keys: readonly string[];
  /** State after this segment. */
  readonly state: TokenState;
}

export class Changelog {
  private segments: Segment[] = [];
  private first = 0;
  private keyCount = 0;
  private lastSeq = 0;
  private head: TokenState;

  constructor(
    private readonly maxKeys: number,
    initial: TokenState,
  ) {
    this.head = initial;
  }

  /** Seq of the latest segment (0 before any). */
  get seq(): number {
    return this.lastSeq;
  }

  /** The published state: the latest segment's, or later when records changed no value. */
  get headState(): TokenState {
    return this.head;
  }

  get retainedKeys(): number {
    return this.keyCount;
  }

  append(keys: readonly string[], state: TokenState): number {
    this.head = state;
    if (keys.length === 0) return this.lastSeq;
    this.segments.push({ seq: ++this.lastSeq, keys, state });
    this.keyCount += keys.length;
    while (this.keyCount > this.maxKeys && this.segments.length - this.first > 1) {
      this.keyCount -= (this.segments[this.first] as Segment).keys.length;
      this.first++;
    }
    if (this.first > 256 && this.first * 2 > this.segments.length) {
      this.segments = this.segments.slice(this.first);
      this.first = 0;
    }
    return this.lastSeq;
  }

  /** Advances the published state without a change (records that moved no value). */
  advance(state: TokenState): void {
    this.head = state;
  }

  /** Segments after `cursor`, or undefined when some of them were already dropped. */
  since(cursor: number): readonly Segment[] | undefined {
    if (cursor >= this.lastSeq) return [];
    const oldest = this.segments[this.first];
    if (oldest === undefined || cursor < oldest.seq - 1) return undefined;
    return this.segments.slice(this.first + (cursor - oldest.seq + 1));
  }

  /** The state a subscriber at `cursor` holds, or undefined when that segment was dropped. */
  stateAt(cursor: number): TokenState | undefined {
    if (cursor >= this.lastSeq) return this.head;
    const oldest = this.segments[this.first];
    if (oldest === undefined || cursor < oldest.seq) return undefined;
    return this.segments[this.first + (cursor - oldest.seq)]?.state;
  }
}
