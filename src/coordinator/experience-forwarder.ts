/**
 * Forwards collected experiences to Reactor-Core as files in trinity/events/ (CONTRACT §2 spec batch,
 * `experiences_<model_type>_<ts>.json`), written under a dot-name ending in .tmp and then renamed, so
 * reactor's watcher never reads half a file. Batched by count (a type with EXPERIENCE_BATCH_SIZE pending
 * goes at once) and by time (everything pending goes every EXPERIENCE_FLUSH_INTERVAL). A failed write
 * leaves the batch in the outbox for the next tick: nothing is lost while the folder is unwritable.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { CoordinatorForwardFailed, CoordinatorInvalidOption } from '../errors.js';
import type { OutboxBatch, OutboxItem, OutboxStore } from './outbox-store.js';
import { ensureDirAsync, writeFileAtomic } from '../util/fs.js';

/** A claim outlives any sane write; after it a crashed writer's batch is free again. */
export const CLAIM_SECONDS = 60;

export interface ExperienceForwarderOptions {
  outbox: OutboxStore;
  /** The folder reactor watches (config.paths.events). */
  eventsDir: string;
  /** Experiences per file; a type with this many pending is written at once. Default 100. */
  batchSize?: number;
  /** Ms between flushes of everything pending (and retries after a failed write). Default 5 000. */
  flushIntervalMs?: number;
  /** Who claims batches (the process's instance id). */
  claimer: string;
  /** Clock in ms since the epoch. Default Date.now. */
  now?: () => number;
}

export interface ForwardedFile {
  file: string;
  modelType: string;
  count: number;
}

export interface ExperienceForwarderEvents {
  forwarded: [file: ForwardedFile];
  /** A write failed; the batch waits for the next flush. */
  failed: [error: Error];
}

export interface ForwarderStatus {
  pending: number;
  filesWritten: number;
  lastFileAt: string | null;
  /** The last write's error while it keeps failing; null once a write succeeds. */
  lastError: string | null;
}

export class ExperienceForwarder extends EventEmitter<ExperienceForwarderEvents> {
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private again = false;
  /** A folded call wanted partial batches written too (the time trigger), not only full ones. */
  private wantAll = false;
  private filesWritten = 0;
  private lastFileAt: string | null = null;
  private lastError: string | null = null;
  private closing: Promise<void> | null = null;
  /** The outbox's row count as last read (after each add, claim and file): status() stays synchronous for health. */
  private pending = 0;

  constructor(private readonly opts: ExperienceForwarderOptions) {
    super();
    this.batchSize = opts.batchSize ?? 100;
    this.flushIntervalMs = opts.flushIntervalMs ?? 5_000;
    this.now = opts.now ?? Date.now;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw CoordinatorInvalidOption('ExperienceForwarder', 'batchSize', 'an integer >= 1', opts.batchSize);
    if (!(this.flushIntervalMs > 0)) throw CoordinatorInvalidOption('ExperienceForwarder', 'flushIntervalMs', 'a positive number of ms', opts.flushIntervalMs);
  }

  start(): void {
    if (this.timer || this.closing) return;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
    void this.flush();
  }

  /** Keeps the experiences durably; a type that reached a full batch is written right away. */
  async add(items: OutboxItem[]): Promise<number> {
    if (items.length === 0) return 0;
    await this.opts.outbox.add(items, this.now() / 1000);
    const byType = await this.opts.outbox.pendingByType();
    this.pending = byType.reduce((n, p) => n + p.count, 0);
    if (byType.some((p) => p.count >= this.batchSize)) void this.flush({ fullOnly: true });
    return items.length;
  }

  /** `pending` is as of the last add or flush (at most one flush interval old; other processes' adds included then). */
  status(): ForwarderStatus {
    return { pending: this.pending, filesWritten: this.filesWritten, lastFileAt: this.lastFileAt, lastError: this.lastError };
  }

  /**
   * Writes pending experiences to files. Calls while one runs are folded into one more pass, so a burst
   * of posts costs one flush, not one per post. `fullOnly`: only whole batches (the count trigger).
   */
  flush(o: { fullOnly?: boolean } = {}): Promise<void> {
    if (!o.fullOnly) this.wantAll = true;
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.again = false;
          const all = this.wantAll;
          this.wantAll = false;
          await this.flushOnce(!all);
        } while (this.again && !this.closing);
      } catch (err) {
        // The outbox itself failed (a database away): callers fire and forget, so it is reported, not thrown.
        this.lastError = (err as Error).message;
        this.emit('failed', err as Error);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private async flushOnce(fullOnly: boolean): Promise<void> {
    const byType = await this.opts.outbox.pendingByType();
    this.pending = byType.reduce((n, p) => n + p.count, 0);
    for (const { modelType, count } of byType) {
      let left = count;
      while (left > 0 && (!fullOnly || left >= this.batchSize)) {
        const batch = await this.opts.outbox.claim(modelType, this.opts.claimer, this.batchSize, CLAIM_SECONDS, this.now() / 1000);
        if (!batch) break;
        if (!(await this.write(batch))) return;
        left -= batch.seqs.length;
      }
    }
  }

  private async write(batch: OutboxBatch): Promise<boolean> {
    const name = `experiences_${batch.modelType}_${batch.fileTs}.json`;
    const created = new Date(this.now()).toISOString();
    // The bodies are stored as JSON text already; splicing them in avoids parsing them only to print them again.
    const head = JSON.stringify({ batch_id: `jarvis-${batch.modelType}-${batch.seqs[0]}-${batch.seqs[batch.seqs.length - 1]}`, model_type: batch.modelType, created_at: created });
    const text = `${head.slice(0, -1)},"experiences":[${batch.bodies.join(',')}]}\n`;
    try {
      await ensureDirAsync(this.opts.eventsDir);
      await writeFileAtomic(join(this.opts.eventsDir, name), text);
    } catch (err) {
      // Should this fail too, the claim runs out after CLAIM_SECONDS.
      await this.opts.outbox.unclaim(batch).catch(() => undefined);
      const error = CoordinatorForwardFailed.with({ cause: err }, this.opts.eventsDir, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
      this.lastError = error.message;
      this.emit('failed', error);
      return false;
    }
    await this.opts.outbox.complete(batch);
    this.pending = Math.max(0, this.pending - batch.seqs.length);
    this.filesWritten++;
    this.lastFileAt = created;
    this.lastError = null;
    this.emit('forwarded', { file: name, modelType: batch.modelType, count: batch.seqs.length });
    return true;
  }

  /** Stops the timer and makes one last attempt to write what is pending. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.flushing;
      await this.flush();
    })();
    return this.closing;
  }
}
