/**
 * A small LRU of loaded predictors keyed by (type, version), so repeated evaluations of a version skip
 * reading and parsing its artifacts. Registered versions never change, so an entry never goes stale.
 * A version in use is leased: evicting it only marks it, and it is disposed when its last user is done,
 * so an evaluation never runs on a freed model.
 */
import { HttpNotReady, ModelEvaluationInvalidOption } from '../errors.js';
import type { ModelType } from '../model-types.js';
import { loadPredictor } from './evaluate.js';
import type { Predictor } from '../models/types.js';

/**
 * Loaded versions kept by default. Enough for the stable, canary and a candidate of one type or so;
 * each holds its weights in memory (an nlu or embedding table is tens of MB), hence small.
 */
export const DEFAULT_PREDICTOR_CACHE_SIZE = 4;

/**
 * A version no evaluation has used for this long is let go: reactor evaluates at a job's end and on
 * request, and between those its memory (tens of MB a text model) should go back to the user.
 */
export const DEFAULT_PREDICTOR_IDLE_MS = 120_000;

export interface PredictorCacheOptions {
  /** Versions kept loaded; default DEFAULT_PREDICTOR_CACHE_SIZE. A positive integer. */
  capacity?: number;
  /** Idle versions are disposed after this many ms without use; default DEFAULT_PREDICTOR_IDLE_MS. */
  idleMs?: number;
  /** How a version is loaded; default the trainer module's `loadPredictor`, failures as ModelLoadFailed. */
  load?: (type: ModelType, version: string, dir: string) => Promise<Predictor>;
}

interface Entry {
  loading: Promise<Predictor>;
  /** Set once loaded, so an idle entry is freed at once rather than a turn later. */
  predictor: Predictor | null;
  leases: number;
  evicted: boolean;
  /** When its last lessee finished (performance.now()). */
  lastUsed: number;
}

export class PredictorCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #idleMs: number;
  #sweep: NodeJS.Timeout | null = null;
  readonly #load: (type: ModelType, version: string, dir: string) => Promise<Predictor>;
  #closed = false;

  constructor(options: PredictorCacheOptions = {}) {
    const { capacity = DEFAULT_PREDICTOR_CACHE_SIZE, idleMs = DEFAULT_PREDICTOR_IDLE_MS, load = (type, version, dir) => loadPredictor(type, dir, version) } = options;
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw ModelEvaluationInvalidOption('capacity', 'a positive integer', capacity);
    if (!(idleMs > 0)) throw ModelEvaluationInvalidOption('idleMs', 'a positive number of milliseconds', idleMs);
    this.#capacity = capacity;
    this.#idleMs = idleMs;
    this.#load = load;
  }

  /** Versions loaded or loading. */
  get size(): number {
    return this.#entries.size;
  }

  has(type: ModelType, version: string): boolean {
    return this.#entries.has(keyOf(type, version));
  }

  /**
   * Runs `fn` with the predictor of (type, version), loading it from `dir` on first use. Concurrent
   * callers share one load; a load that fails is forgotten, so the next call tries again.
   */
  async use<T>(type: ModelType, version: string, dir: string, fn: (predictor: Predictor) => Promise<T>): Promise<T> {
    if (this.#closed) throw HttpNotReady('closing');
    const key = keyOf(type, version);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      const created: Entry = { loading: this.#load(type, version, dir), predictor: null, leases: 0, evicted: false, lastUsed: performance.now() };
      // A failed load is awaited below by every lessee; the handler only keeps it from being reported as unhandled.
      created.loading.then(
        (p) => (created.predictor = p),
        () => undefined,
      );
      entry = created;
    } else {
      this.#entries.delete(key);
    }
    this.#entries.set(key, entry); // most recently used last
    entry.leases++;
    this.#evictBeyondCapacity();
    try {
      let predictor: Predictor;
      try {
        predictor = await entry.loading;
      } catch (err) {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
        entry.evicted = true;
        throw err;
      }
      return await fn(predictor);
    } finally {
      entry.leases--;
      entry.lastUsed = performance.now();
      if (entry.evicted && entry.leases === 0) release(entry);
      else this.#scheduleSweep();
    }
  }

  /** Sweeps for idle versions while any is loaded; the timer never keeps the process alive. */
  #scheduleSweep(): void {
    if (this.#sweep !== null || this.#closed) return;
    this.#sweep = setTimeout(() => {
      this.#sweep = null;
      const now = performance.now();
      for (const [key, entry] of this.#entries) {
        if (entry.leases === 0 && now - entry.lastUsed >= this.#idleMs) this.#evict(key, entry);
      }
      if (this.#entries.size > 0) this.#scheduleSweep();
    }, this.#idleMs / 2);
    this.#sweep.unref();
  }

  /** Disposes every idle predictor; ones in use go when their user finishes. Safe to call twice. */
  close(): void {
    this.#closed = true;
    if (this.#sweep !== null) clearTimeout(this.#sweep);
    this.#sweep = null;
    for (const [key, entry] of this.#entries) this.#evict(key, entry);
  }

  #evictBeyondCapacity(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#capacity) return;
      this.#evict(key, entry);
    }
  }

  #evict(key: string, entry: Entry): void {
    this.#entries.delete(key);
    if (entry.evicted) return;
    entry.evicted = true;
    if (entry.leases === 0) release(entry);
  }
}

function keyOf(type: ModelType, version: string): string {
  return `${type}\u0000${version}`;
}

function release(entry: Entry): void {
  if (entry.predictor !== null) return entry.predictor.dispose();
  entry.loading.then(
    (p) => p.dispose(),
    () => undefined,
  );
}
