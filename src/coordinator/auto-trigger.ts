/**
 * Auto-trigger (CONTRACT §6): every TRAINING_CHECK_INTERVAL s, read reactor's experience figures and
 * queue one job for each model type with at least MIN_EXPERIENCES_FOR_TRAINING new experiences, never a
 * second while one is queued or running. After an automatic job failed, its type waits for more new
 * experiences than it had then, so a type that cannot train is not queued again every interval.
 */
import { EventEmitter } from 'node:events';
import { CoordinatorInvalidOption } from '../errors.js';
import { MODEL_TYPES, type ModelType } from '../model-types.js';
import type { JobQueue } from './job-queue.js';
import type { ReactorLink } from './reactor-link.js';
import { describeError } from './reactor-link.js';
import { defaultPriority } from './trigger-request.js';
import type { CoordinatorJob } from './types.js';

export interface AutoTriggerOptions {
  reactor: ReactorLink;
  queue: JobQueue;
  /** MIN_EXPERIENCES_FOR_TRAINING */
  minExperiences: number;
  /** TRAINING_CHECK_INTERVAL in ms. */
  intervalMs: number;
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

  constructor(private readonly o: AutoTriggerOptions) {
    super();
    this.now = o.now ?? Date.now;
    if (!Number.isInteger(o.minExperiences) || o.minExperiences < 1) throw CoordinatorInvalidOption('AutoTrigger', 'minExperiences', 'an integer >= 1', o.minExperiences);
    if (!(o.intervalMs > 0)) throw CoordinatorInvalidOption('AutoTrigger', 'intervalMs', 'a positive number of ms', o.intervalMs);
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.check(), this.o.intervalMs);
    this.timer.unref();
  }

  lastCheck(): AutoCheck | null {
    return this.last;
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
        if (n < this.o.minExperiences || this.o.queue.pendingOfType(type)) continue;
        const last = this.o.queue.lastOfType(type);
        if (last?.status === 'failed' && last.source === 'auto' && (last.triggerCount ?? 0) >= n) continue;
        const { job, created } = this.o.queue.enqueue({ modelType: type, priority: defaultPriority(type), epochs: null, source: 'auto', triggerCount: n });
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

  /** Stops the timer and waits for a check in flight. Safe to call twice: the same promise is returned. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.running?.catch(() => undefined);
    })();
    return this.closing;
  }
}
