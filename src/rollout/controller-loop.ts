/**
 * The deployment controller's clock: every tick reads prime's counters, then (in one transaction) adds
 * them to the active deployments and reconciles each, then hands the changes on and pushes the splits.
 * Ticks never overlap; prime being down or one failing tick never stops the loop. When several reactors
 * share the database only the rollout-controller leader runs the loop (`start`/`pause`), and each tick's
 * transaction first checks `acting()`, so a node that lost its lease writes nothing.
 */
import type { PrimeStatsWire } from '../client/index.js';
import type { ModelType } from '../model-types.js';
import type { Sql } from '../store/sql.js';
import type { PushLogger, SplitPusher } from './split-pusher.js';
import { statsFromWire, type Change, type RolloutEngine } from './rollout-engine.js';

export interface LoopLogger extends PushLogger {
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface ControllerLoopOptions {
  stats(signal: AbortSignal): Promise<PrimeStatsWire>;
  engine: RolloutEngine;
  pusher: SplitPusher;
  tickMs: number;
  now: () => number;
  /** Told after each committed tick that changed something. */
  onChanges(changes: Change[]): Promise<void>;
  /**
   * Asked inside each tick's transaction, with its connection: false skips the tick (this node no longer
   * leads). A check that reads the database must read through `tx` (SQLite: the seam waits for an open
   * transaction, so a read beside it would wait for itself). Default: always.
   */
  acting?: (tx: Sql) => boolean | Promise<boolean>;
  logger?: LoopLogger;
}

export class ControllerLoop {
  readonly #o: ControllerLoopOptions;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | null = null;
  #primeUp: boolean | null = null;
  #closing: Promise<void> | null = null;
  #running = false;

  constructor(o: ControllerLoopOptions) {
    this.#o = o;
  }

  /** First tick right away, then every tickMs after the previous one ended. Again after pause(): resumes. */
  start(): void {
    if (this.#running || this.#closing) return;
    this.#running = true;
    this.#schedule(0);
  }

  get running(): boolean {
    return this.#running;
  }

  /** Stops ticking (another node leads now) and waits for the tick in flight; start() resumes. */
  pause(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    return this.#ticking ?? Promise.resolve();
  }

  /** One pass; a call while one runs joins it. */
  tick(): Promise<void> {
    this.#ticking ??= this.#run().finally(() => (this.#ticking = null));
    return this.#ticking;
  }

  /** Stops the timer and an in-flight stats read, and waits for the running tick. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#timer);
      this.#abort.abort();
      await this.#ticking;
    })();
    return this.#closing;
  }

  async #run(): Promise<void> {
    const { engine, pusher, logger } = this.#o;
    let stats: PrimeStatsWire | null = null;
    try {
      stats = await this.#o.stats(this.#abort.signal);
      this.#notePrime(true);
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      this.#notePrime(false, err);
    }
    try {
      const now = this.#o.now();
      let acting = true;
      const changes = await engine.transaction(async (e) => {
        acting = (await this.#o.acting?.(e.store.sql)) ?? true;
        if (!acting) return [];
        if (stats) await e.accumulate(statsFromWire(stats), now);
        const out: Change[] = [];
        for (const rec of await e.store.active(true)) {
          const c = await e.reconcileOne(rec, [], now);
          if (c) out.push(c);
        }
        return out;
      });
      if (!acting) return;
      await this.#o.onChanges(changes);
      // Another node may have changed a split since it was queued here (an API call it served, or a
      // term as leader): what is pushed is always what the database says now.
      await engine.announce(pusher.wantedTypes() as ModelType[]);
      await pusher.flush();
    } catch (err) {
      // One bad tick (a locked database, a bug) must not end the loop: the next tick tries again.
      logger?.error({ err }, 'deployment controller tick failed');
    }
  }

  #schedule(delayMs: number): void {
    if (this.#closing || !this.#running) return;
    // One timer at most, even when a resume and the end of a paused tick both schedule.
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      void this.tick().finally(() => this.#schedule(this.#o.tickMs));
    }, delayMs);
    // The HTTP server keeps the process alive; the loop alone should not.
    this.#timer.unref();
  }

  /** Logs only changes between reachable and not, so a prime that is down does not flood the log. */
  #notePrime(up: boolean, err?: unknown): void {
    if (this.#primeUp === up) return;
    this.#primeUp = up;
    if (up) this.#o.logger?.info({}, 'prime stats readable');
    else this.#o.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'prime stats not readable; rollouts hold until it is back');
  }
}
