/**
 * The buffer's inserts on a thread of their own. A batch insert is a few milliseconds of SQLite work
 * (more while the trainer and prime keep both cores busy); on the reactor's event loop every request waited
 * behind it. The thread has its own connection to the same database file, so a request is answered
 * after its batch is committed, as before, and reads (stats, datasets) stay on the main connection.
 */
import { Worker } from 'node:worker_threads';
import { StoreFailed } from '../errors.js';
import { compiledSibling } from '../util/compiled-entry.js';
import { toRows, type ExperienceSink, type ExperienceStore, type InsertOptions } from './experiences-store.js';
import type { WriterReply, WriterRequest, WriterSetup } from './writer-protocol.js';
import type { InsertCounts, NormalizedExperience } from './types.js';

interface Pending {
  resolve: (counts: InsertCounts) => void;
  reject: (err: Error) => void;
}

export interface ExperienceWriterOptions {
  /** The database file (not ':memory:': the thread opens its own connection). */
  path: string;
  /** The main connection's store: reads, and the quality threshold the thread's store keeps counts by. */
  store: ExperienceStore;
}

export class ExperienceWriter implements ExperienceSink {
  readonly minQuality: number;
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** close() waiting for the batches in flight. */
  private drained: (() => void)[] = [];

  constructor(private readonly opts: ExperienceWriterOptions) {
    this.minQuality = opts.store.minQuality;
  }

  insertBatch(experiences: readonly NormalizedExperience[], options: InsertOptions): Promise<InsertCounts> {
    if (this.closed) return Promise.reject(StoreFailed('insert experiences: the writer is closed'));
    const { rows, file } = toRows(experiences, options);
    const request: WriterRequest = { id: this.nextId++, rows, file, carried: options.carried ?? { accepted: 0, duplicates: 0 } };
    const worker = this.thread();
    const done = new Promise<InsertCounts>((resolve, reject) => this.pending.set(request.id, { resolve, reject }));
    // Referenced while batches are in flight, so a caller's await is not cut short by the process ending.
    if (this.pending.size === 1) worker.ref();
    worker.postMessage(request);
    return done;
  }

  isFileIngested(sha256: string): Promise<boolean> {
    return this.opts.store.isFileIngested(sha256);
  }

  /** Waits for the batches in flight, then ends the thread and its connection. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pending.size > 0) await new Promise<void>((settled) => this.drained.push(settled));
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    const exited = new Promise<void>((done) => worker.once('exit', () => done()));
    // Held until the thread has closed its connection, or the process would end with the close unawaited.
    worker.ref();
    worker.postMessage('close' satisfies WriterRequest);
    await exited;
  }

  /** The thread, started on first use and again after it died (its batches in flight were refused). */
  private thread(): Worker {
    if (this.worker) return this.worker;
    const setup: WriterSetup = { path: this.opts.path, minQuality: this.minQuality };
    const worker = new Worker(compiledSibling(import.meta.url, 'writer-thread.js'), { workerData: setup });
    worker.on('message', (reply: WriterReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if ('counts' in reply) p.resolve(reply.counts);
      else p.reject(StoreFailed.with({ cause: Object.assign(new Error(reply.error.message), { code: reply.error.code }) }, reply.error.message));
      this.settled(worker);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(StoreFailed.with({ cause: err }, `insert experiences: ${err.message}`));
      this.pending.clear();
      this.settled(worker);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the writer thread exited with code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** After a reply: an idle thread stops holding the process open, and close() goes on once all are in. */
  private settled(worker: Worker): void {
    if (this.pending.size > 0) return;
    worker.unref();
    for (const wake of this.drained.splice(0)) wake();
  }
}
