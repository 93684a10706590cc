import type { Clock } from './clock.js';

export interface RecentlySeenOptions {
  /** How long a (source, id) is remembered, at least. */
  windowMs: number;
  /** Upper bound on remembered keys; past it the oldest generation is forgotten early. */
  maxEntries: number;
  /** Generations the window is split into; forgetting happens one generation at a time. */
  generations?: number;
}

/**
 * A bounded set of recently acknowledged dedup keys, kept as time generations: lookups check every generation,
 * inserts go to the newest, and the oldest is dropped whole when its time is up or memory is full. A key is
 * remembered for between windowMs and windowMs + one generation, unless maxEntries forces it out sooner.
 * Downstream consumers dedupe by (source, id) anyway; this only spares Kafka the second write of a retry.
 */
export class RecentlySeen {
  private readonly generationMs: number;
  private readonly maxGenerations: number;
  private readonly perGenerationCap: number;
  private generations: Set<string>[] = [new Set()];
  private newestStartedAt: number;

  constructor(
    private readonly clock: Clock,
    private readonly options: RecentlySeenOptions,
  ) {
    const generations = options.generations ?? 8;
    this.generationMs = Math.max(1, Math.ceil(options.windowMs / generations));
    this.maxGenerations = generations + 1;
    this.perGenerationCap = Math.max(1, Math.ceil(options.maxEntries / this.maxGenerations));
    this.newestStartedAt = clock.now();
  }

  has(key: string): boolean {
    this.rotate();
    for (const generation of this.generations) if (generation.has(key)) return true;
    return false;
  }

  add(key: string): void {
    this.rotate();
    let newest = this.generations[this.generations.length - 1] as Set<string>;
    if (newest.size >= this.perGenerationCap) {
      this.startGeneration(this.clock.now());
      newest = this.generations[this.generations.length - 1] as Set<string>;
    }
    newest.add(key);
  }

  get size(): number {
    let total = 0;
    for (const generation of this.generations) total += generation.size;
    return total;
  }

  private rotate(): void {
    const now = this.clock.now();
    const elapsed = now - this.newestStartedAt;
    if (elapsed < this.generationMs) return;
    const steps = Math.floor(elapsed / this.generationMs);
    if (steps >= this.maxGenerations) {
      this.generations = [new Set()];
      this.newestStartedAt = now;
      return;
    }
    for (let i = 0; i < steps; i++) this.startGeneration(this.newestStartedAt + this.generationMs);
  }

  private startGeneration(at: number): void {
    this.generations.push(new Set());
    this.newestStartedAt = at;
    if (this.generations.length > this.maxGenerations) this.generations.shift();
  }
}
