/**
 * Min-heap of (deadline second, dossier slot) for the overdue-now gauge. Entries are never removed when a
 * deadline moves: a new entry is pushed and the stale one is recognised when it pops (the engine recomputes
 * the dossier's status from its state, so a stale entry costs one check and changes nothing).
 */
export class TimerHeap {
  // Deadlines are epoch seconds (< 2^32): 8 bytes per entry with the slot.
  private at = new Uint32Array(1024);
  private slot = new Uint32Array(1024);
  size = 0;

  push(deadline: number, slot: number): void {
    if (this.size === this.at.length) {
      const a = new Uint32Array(this.size * 2);
      a.set(this.at);
      this.at = a;
      const s = new Uint32Array(this.size * 2);
      s.set(this.slot);
      this.slot = s;
    }
    let i = this.size++;
    const at = this.at;
    const sl = this.slot;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((at[p] as number) <= deadline) break;
      at[i] = at[p] as number;
      sl[i] = sl[p] as number;
      i = p;
    }
    at[i] = deadline;
    sl[i] = slot;
  }

  peekDeadline(): number {
    return this.size === 0 ? Infinity : (this.at[0] as number);
  }

  /** Removes the earliest entry and returns its slot. */
  pop(): number {
    const at = this.at;
    const sl = this.slot;
    const top = sl[0] as number;
    const n = --this.size;
    const lastAt = at[n] as number;
    const lastSlot = sl[n] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (at[r] as number) < (at[l] as number) ? r : l;
      if ((at[c] as number) >= lastAt) break;
      at[i] = at[c] as number;
      sl[i] = sl[c] as number;
      i = c;
    }
    at[i] = lastAt;
    sl[i] = lastSlot;
    return top;
  }

  clear(): void {
    this.size = 0;
  }
}
