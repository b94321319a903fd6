/**
 * Memory estimates of jobs over the experience buffer, reused while the buffer has not grown much.
 *
 * JARVIS asks for a job's estimate at every resource check while the job waits (CONTRACT §6), and an
 * estimate over the buffer reads every usable row of the type: 440k rows are about 1 s of work and a few
 * hundred MB of examples held at once. Under a steady stream of experiences that was reactor's largest load
 * (the soak's reactor p99 went to 1.3 s and its heap to 290 MB). The peak a trainer estimates grows at most
 * in proportion to its data, and every estimate carries 25 % headroom, so an answer stays good until the
 * buffer has grown by REUSE_GROWTH; callers asking at once share one computation.
 */
import type { EstimateResponse } from './training-types.js';

/** Growth of the usable rows after which an estimate is computed again. */
export const REUSE_GROWTH = 0.1;

interface Entry {
  rows: number;
  answer: Promise<EstimateResponse>;
}

export class EstimateReuse {
  readonly #entries = new Map<string, Entry>();

  /**
   * The estimate for `key` (model type and options) when the buffer holds `rows` usable rows of the type:
   * the kept one if it was computed on between rows / (1 + REUSE_GROWTH) and rows, else `compute()`'s.
   */
  get(key: string, rows: number, compute: () => Promise<EstimateResponse>): Promise<EstimateResponse> {
    const kept = this.#entries.get(key);
    if (kept && rows >= kept.rows && rows <= kept.rows * (1 + REUSE_GROWTH)) return kept.answer;
    const entry: Entry = { rows, answer: compute() };
    this.#entries.set(key, entry);
    // A refusal (no data yet, a bad option) is not kept: the next ask computes again.
    entry.answer.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return entry.answer;
  }
}
