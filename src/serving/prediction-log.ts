/**
 * The recent predictions feedback can refer to: prediction id → the counters of the version that served
 * it. Bounded, oldest first out (a Map keeps insertion order), so memory stays flat under any load:
 * about 150 bytes an entry, 15 MB at the default 100 000.
 */
import type { VersionCounters } from './counters.js';

export interface PredictionEntry {
  readonly counters: VersionCounters;
  /** The feedback already counted for this prediction, if any. */
  feedback: boolean | undefined;
}

export class PredictionLog {
  private readonly entries = new Map<string, PredictionEntry>();

  constructor(readonly capacity: number) {}

  add(predictionId: string, counters: VersionCounters): void {
    this.entries.set(predictionId, { counters, feedback: undefined });
    if (this.entries.size > this.capacity) {
      // The first key is the oldest insertion.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  get(predictionId: string): PredictionEntry | undefined {
    return this.entries.get(predictionId);
  }

  get size(): number {
    return this.entries.size;
  }
}
