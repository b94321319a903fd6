/**
 * Auto-trigger (CONTRACT §6): read reactor's experience figures and queue one job for each model type
 * with at least MIN_EXPERIENCES_FOR_TRAINING new experiences, never a second while one is queued or
 * running. Checked soon after jarvis forwards experiences (`nudge`, debounced) and every
 * TRAINING_CHECK_INTERVAL s as a safety net (experiences posted straight to reactor, a reactor that was
 * down). After an automatic job failed, its type waits for more new experiences than it had then, so a
 * type that cannot train is not queued again every interval.
 */
import { EventEmitter } from 'node:events';
import { CoordinatorInvalidOption } from '../errors.js';
import { MODEL_TYPES, type ModelType } from '../model-types.js';
import type { JobQueue } from './job-queue.js';
import type { ReactorLink } from './reactor-link.js';
import { describeError } from './reactor-link.js';
import { defaultPriority } from './trigger-request.js';
import type { CoordinatorJob } from './types.js';

/** Quiet time after the last forwarded file before the nudged check: a burst of files costs one check. */
export const NUDGE_DEBOUNCE_MS = 1_500;
/** Longest a nudge waits while files keep coming, so a steady stream still triggers. */
export const NUDGE_MAX_DELAY_MS = 5_000;

export interface AutoTriggerOptions {
  /** Only its experience figures are read. */
  reactor: Pick<ReactorLink, 'experienceStats'>;
  queue: Pick<JobQueue, 'enqueue' | 'pendingOfType' | 'lastOfType'>;
  /** MIN_EXPERIENCES_FOR_TRAINING */
  minExperiences: number;
  /** TRAINING_CHECK_INTERVAL in ms. */
  intervalMs: number;
  /** Ms of quiet after the last nudge before checking. Default NUDGE_DEBOUNCE_MS. */
  debounceMs?: number;
  /** Ms a nudge waits at most while nudges keep coming. Default NUDGE_MAX_DELAY_MS. */
  maxDelayMs?: number;
  /**
   * Resolves once reactor has ingested the files nudged with (see ingest-wait.ts), so the nudged check
   * counts them; it must end on its own (bounded) and when `signal` aborts. Default: resolves at once.
   */
  ingested?: (files: string[], signal: AbortSignal) => Promise<unknown>;
  now?: () => number;
}

export interface AutoCheck {
  at: string;
  /** new_since_last_training per model type, as reactor reported it. */
  counts: Partial<Record<ModelType, number>>;
  triggered: string[];
  error: string | null;
}

export interface AutoTriggerEvents {
  triggered: [job: CoordinatorJob, newExperiences: number];
  checked: [check: AutoCheck];
}

export class AutoTrigger extends EventEmitter<AutoTriggerEvents> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<AutoCheck> | null = null;
  private last: AutoCheck | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  /** The pending nudged check's timer, when its first nudge came, and the files nudged with since. */
  private soon: NodeJS.Timeout | null = null;
  private burstStartedAt: number | null = null;
  private files: string[] = [];
  private readonly nudged = new Set<Promise<void>>();
  private readonly stop = new AbortController();

  constructor(private readonly o: AutoTriggerOptions) {
    super();
    this.now = o.now ?? Date.now;
    this.debounceMs = o.debounceMs ?? NUDGE_DEBOUNCE_MS;
    this.maxDelayMs = o.maxDelayMs ?? NUDGE_MAX_DELAY_MS;
    if (!Number.isInteger(o.minExperiences) || o.minExperiences < 1) throw CoordinatorInvalidOption('AutoTrigger', 'minExperiences', 'an integer >= 1', o.minExperiences);
    if (!(o.intervalMs > 0)) throw CoordinatorInvalidOption('AutoTrigger', 'intervalMs', 'a positive number of ms', o.intervalMs);
    if (!(this.debounceMs >= 0)) throw CoordinatorInvalidOption('AutoTrigger', 'debounceMs', 'a number of ms >= 0', o.debounceMs);
    if (!(this.maxDelayMs >= this.debounceMs)) throw CoordinatorInvalidOption('AutoTrigger', 'maxDelayMs', `a number of ms >= debounceMs (${this.debounceMs})`, o.maxDelayMs);
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.check(), this.o.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops the interval and pending nudges (another jarvis leads the auto-trigger now); start() resumes.
   * A check already running ends on its own: the one-queued-job-per-type rule keeps it from doubling a job.
   */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = this.soon = null;
    this.burstStartedAt = null;
    this.files = [];
  }

  /** Whether checks run on this node (started and not paused or closed). */
  get active(): boolean {
    return this.timer !== null;
  }

  lastCheck(): AutoCheck | null {
    return this.last;
  }

  /**
   * New experiences were forwarded (in `file`, when given): check once they are ingested, `debounceMs`
   * after the last nudge but no later than `maxDelayMs` after the first. Ignored until started (auto
   * training off) and once closing.
   */
  nudge(file?: string): void {
    if (!this.timer || this.closed) return;
    if (file !== undefined) this.files.push(file);
    const now = this.now();
    this.burstStartedAt ??= now;
    const delay = Math.max(0, Math.min(this.debounceMs, this.burstStartedAt + this.maxDelayMs - now));
    if (this.soon) clearTimeout(this.soon);
    this.soon = setTimeout(() => this.fireNudge(), delay);
    this.soon.unref();
  }

  private fireNudge(): void {
    this.soon = null;
    this.burstStartedAt = null;
    const files = this.files.splice(0);
    const run = this.nudgedCheck(files)
      .catch(() => undefined)
      .finally(() => this.nudged.delete(run));
    this.nudged.add(run);
  }

  private async nudgedCheck(files: string[]): Promise<void> {
    await this.o.ingested?.(files, this.stop.signal).catch(() => undefined);
    // A check that began before these files were ingested may not count them: let it end, then ask again.
    // One started after the wait is fresh enough and is shared, so two jobs cannot come of it.
    await this.running?.catch(() => undefined);
    if (!this.closed && this.timer) await this.check();
  }

  /** One check now; a check already running is shared rather than doubled. */
  check(): Promise<AutoCheck> {
    this.running ??= this.checkOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async checkOnce(): Promise<AutoCheck> {
    const result: AutoCheck = { at: new Date(this.now()).toISOString(), counts: {}, triggered: [], error: null };
    try {
      const stats = await this.o.reactor.experienceStats();
      for (const type of MODEL_TYPES) {
        const n = stats[type]?.new_since_last_training ?? 0;
        result.counts[type] = n;
        if (n < this.o.minExperiences || (await this.o.queue.pendingOfType(type))) continue;
        const last = await this.o.queue.lastOfType(type);
        if (last?.status === 'failed' && last.source === 'auto' && (last.triggerCount ?? 0) >= n) continue;
        const { job, created } = await this.o.queue.enqueue({ modelType: type, priority: defaultPriority(type), epochs: null, source: 'auto', triggerCount: n });
        if (!created) continue;
        result.triggered.push(job.jobId);
        this.emit('triggered', job, n);
      }
    } catch (err) {
      result.error = describeError(err);
    }
    this.last = result;
    this.emit('checked', result);
    return result;
  }

  /** Stops the timers, ends waits for ingestion, and waits for checks in flight. Safe to call twice: the same promise is returned. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      if (this.timer) clearInterval(this.timer);
      if (this.soon) clearTimeout(this.soon);
      this.timer = this.soon = null;
      this.stop.abort();
      await Promise.all([...this.nudged]);
      await this.running?.catch(() => undefined);
    })();
    return this.closing;
  }
}
