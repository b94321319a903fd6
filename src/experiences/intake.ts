/**
 * ExperienceIntake: keeps the events folder drained into the buffer. Correctness comes from full
 * scans (at start, after every watcher event, and on a timer); the watcher only makes them prompt. Files
 * are processed one at a time in name order, so a burst never runs two transactions at once.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ensureDirAsync } from '../util/fs.js';
import { FileProcessor, type FileOutcome } from './file-processor.js';
import { resolveIntakeOptions, type ExperienceIntakeOptions, type ResolvedIntakeOptions } from './intake-options.js';
import { REJECTED_DIR_NAME, RejectedFolder } from './rejected-folder.js';

export type IngestedEvent = Extract<FileOutcome, { status: 'ingested' | 'already_ingested' }>;
export type RejectedEvent = Extract<FileOutcome, { status: 'rejected' }>;
export type DeferredEvent = Extract<FileOutcome, { status: 'deferred' }>;

export interface ReconciledEvent {
  /** Files looked at in this scan. */
  files: number;
  /** Files still waiting (deferred or left by close()). */
  pending: number;
  durationMs: number;
}

/** Event name → listener arguments. */
export interface IntakeEvents {
  /** A file's experiences are committed and the file deleted (or it was already ingested). */
  ingested: [IngestedEvent];
  /** A whole file went to rejected/. */
  rejected: [RejectedEvent];
  /** A file looks half-written; it is retried at `retryAtMs`. */
  deferred: [DeferredEvent];
  /** A full scan ended. */
  reconciled: [ReconciledEvent];
  /** Something failed that is not the file's fault (database, permissions); the file stays for the next scan. */
  error: [Error, string | null];
}

/** Dot-files and *.tmp are writes in flight (CONTRACT §2); rejected/ is ours. */
export function isCandidateName(name: string): boolean {
  return !name.startsWith('.') && !name.toLowerCase().endsWith('.tmp') && name !== REJECTED_DIR_NAME;
}

/** The smallest of `times` (Infinity for none), without spreading: a spread of 125,000+ values overflows the stack. */
export function earliest(times: Iterable<number>): number {
  let min = Infinity;
  for (const t of times) if (t < min) min = t;
  return min;
}

export class ExperienceIntake extends EventEmitter<IntakeEvents> {
  private readonly opts: ResolvedIntakeOptions;
  private readonly processor: FileProcessor;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Files deferred as half-written, with the time to look again. */
  private readonly deferredUntil = new Map<string, number>();
  private scanRequested = false;
  private loop: Promise<void> | null = null;
  /** Scans started and finished so far; scanNow() waits for a scan that started after it was called. */
  private scansStarted = 0;
  private scansFinished = 0;
  private readonly scanWaiters: { scan: number; resolve: () => void }[] = [];
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  /** Set synchronously by close(), before any await, so a running scan stops after its current file. */
  private closed = false;

  constructor(options: ExperienceIntakeOptions) {
    super();
    this.opts = resolveIntakeOptions(options);
    this.processor = new FileProcessor({
      dir: this.opts.dir,
      store: this.opts.store,
      rejected: new RejectedFolder(join(this.opts.dir, REJECTED_DIR_NAME)),
      batchSize: this.opts.batchSize,
      settleMs: this.opts.settleMs,
      isClosing: () => this.closed,
    });
  }

  get dir(): string {
    return this.opts.dir;
  }

  /** Creates the folders, drains what is already there (files dropped while the service was down), then watches. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      await ensureDirAsync(join(this.opts.dir, REJECTED_DIR_NAME));
      if (this.closed) return;
      // Watch first, scan second: a file dropped between the two is then seen by one or the other.
      if (this.opts.watch) this.startWatcher();
      await this.scanNow();
      if (this.closed) return;
      this.timer = setInterval(() => this.requestScan(), this.opts.reconcileIntervalMs);
      this.timer.unref();
    })();
    return this.starting;
  }

  /**
   * Resolves when a full scan that started after this call has ended (at once after close()). Files
   * arriving meanwhile do not hold it up: under a steady stream of files it still resolves.
   */
  scanNow(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.scanWaiters.push({ scan: this.scansStarted + 1, resolve });
      this.requestScan();
    });
  }

  /** Stops watching and waits for the file in progress. Safe to call twice: returns the same promise. */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      if (this.timer !== null) clearInterval(this.timer);
      if (this.retryTimer !== null) clearTimeout(this.retryTimer);
      this.watcher?.close();
      this.watcher = null;
      while (this.loop !== null) await this.loop;
      this.releaseWaiters(true);
    })();
    return this.closing;
  }

  /**
   * Watches the folder itself with one fs.watch handle: every event (a name created, renamed, changed)
   * only asks for a scan, so nothing more is needed. chokidar was measured and dropped here: it gives
   * every file its own watch handle and re-stats the whole folder on each event, which made 640 files
   * take 10–12 s to drain instead of about one. Lost or coalesced events cost only latency: the timer
   * scan finds every file.
   */
  private startWatcher(): void {
    try {
      const watcher = watch(this.opts.dir, (_event, name) => {
        if (name === null || isCandidateName(basename(name))) this.requestScan();
      });
      watcher.on('error', (err: unknown) => {
        this.opts.logger.warn({ err }, 'experience folder watcher failed; relying on the periodic scan');
        watcher.close();
        if (this.watcher === watcher) this.watcher = null;
      });
      this.watcher = watcher;
    } catch (err) {
      this.opts.logger.warn({ err }, 'cannot watch the experience folder; relying on the periodic scan');
    }
  }

  /** Coalesces requests: at most one scan runs, and one more follows if anything asked meanwhile. */
  private requestScan(): void {
    this.scanRequested = true;
    if (this.loop !== null) return;
    this.loop = (async () => {
      try {
        while (this.scanRequested && !this.closed) {
          this.scanRequested = false;
          this.scansStarted++;
          await this.scanOnce();
          this.scansFinished = this.scansStarted;
          this.releaseWaiters();
        }
      } finally {
        this.loop = null;
        if (this.closed) this.releaseWaiters(true);
      }
    })();
  }

  private async scanOnce(): Promise<void> {
    const started = Date.now();
    let names: string[];
    try {
      // Every entry, not only files: links, pipes and folders are moved aside with a reason, not left forever.
      names = (await readdir(this.opts.dir)).filter(isCandidateName);
    } catch (err) {
      this.fail(err, null);
      return;
    }
    // Code-unit order, not locale order: the same on every machine.
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const present = new Set(names);
    for (const name of this.deferredUntil.keys()) if (!present.has(name)) this.deferredUntil.delete(name);

    let pending = 0;
    for (const name of names) {
      if (this.closed) {
        pending++;
        continue;
      }
      const waitUntil = this.deferredUntil.get(name);
      if (waitUntil !== undefined && Date.now() < waitUntil) {
        pending++;
        continue;
      }
      this.deferredUntil.delete(name);
      try {
        const outcome = await this.processor.process(name);
        if (this.report(outcome)) pending++;
      } catch (err) {
        pending++;
        this.fail(err, name);
      }
    }
    this.armRetry();
    const summary: ReconciledEvent = { files: names.length, pending, durationMs: Date.now() - started };
    if (summary.files > summary.pending) this.opts.logger.info(summary, 'experience folder scanned');
    this.emit('reconciled', summary);
  }

  private releaseWaiters(all = false): void {
    for (let i = this.scanWaiters.length - 1; i >= 0; i--) {
      const w = this.scanWaiters[i];
      if (all || w.scan <= this.scansFinished) {
        this.scanWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Emits the outcome; true when the file is still waiting. */
  private report(outcome: FileOutcome): boolean {
    const log = this.opts.logger;
    switch (outcome.status) {
      case 'ingested':
        // Per file at debug: the forwarder writes one file per event, so info would be one line per experience.
        log.debug(outcome, 'experience file ingested');
        this.emit('ingested', outcome);
        return false;
      case 'already_ingested':
        log.debug(outcome, 'experience file already ingested; deleted');
        this.emit('ingested', outcome);
        return false;
      case 'rejected':
        log.warn(outcome, 'experience file rejected');
        this.emit('rejected', outcome);
        return false;
      case 'deferred':
        log.debug(outcome, 'experience file deferred');
        this.deferredUntil.set(outcome.file, outcome.retryAtMs);
        this.emit('deferred', outcome);
        return true;
      case 'skipped':
        log.debug(outcome, 'experience file skipped');
        return true;
    }
  }

  /** One timer for the earliest deferred file; the periodic scan would find it too, only later. */
  private armRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.deferredUntil.size === 0 || this.closed) return;
    const next = earliest(this.deferredUntil.values());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.requestScan();
    }, Math.max(0, next - Date.now()));
    this.retryTimer.unref();
  }

  private fail(err: unknown, file: string | null): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.opts.logger.error({ err: error, file }, 'experience intake failed; the file stays for the next scan');
    // An 'error' event without a listener would crash the process; the log above is enough then.
    if (this.listenerCount('error') > 0) this.emit('error', error, file);
  }
}
