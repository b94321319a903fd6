/**
 * Work over a whole type's buffer snapshot, on a thread of its own (buffer-thread-entry.ts) with its own
 * SQLite connection: writing a job's dataset file, and the trainer's memory estimate over every example.
 * Each is seconds of reading, parsing and hashing for a buffer of several hundred thousand rows; on
 * reactor's loop that held every request behind it for tens of milliseconds at a time.
 */
import { Worker } from 'node:worker_threads';
import type { ModelType } from '../model-types.js';
import type { MemoryEstimate } from '../models/kernels/memory-estimate.js';
import type { TrainerOptions } from '../models/types.js';
import { compiledSibling } from '../util/compiled-entry.js';
import { DatasetTally, type DatasetCounts } from './dataset-tally.js';

export interface BufferThreadRequest {
  /** The SQLite file (the thread opens its own connection). */
  databasePath: string;
  minQuality: number;
  modelType: ModelType;
  /** `export`: write the dataset file at `path` (atomically); `estimate`: the trainer's memory estimate. */
  work: { kind: 'export'; path: string } | { kind: 'estimate'; options: TrainerOptions };
}

export type BufferThreadReply =
  | { maxSeq: number; counts: DatasetCounts; estimate: MemoryEstimate | null }
  | { error: { message: string; code: string | null } };

export interface BufferThreadResult {
  maxSeq: number;
  tally: DatasetTally;
  /** `estimate` only: null when the trainer gives none (or the data is not trainable). */
  estimate: MemoryEstimate | null;
}

/** Runs one piece of buffer work on a new thread; an error keeps its `code` (ENOSPC…) for the caller. */
export function runBufferThread(req: BufferThreadRequest): Promise<BufferThreadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(compiledSibling(import.meta.url, 'buffer-thread-entry.js'), { workerData: req });
    let answered = false;
    worker.once('message', (reply: BufferThreadReply) => {
      answered = true;
      if ('error' in reply) reject(Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {}));
      else resolve({ maxSeq: reply.maxSeq, tally: DatasetTally.fromJSON(reply.counts), estimate: reply.estimate });
    });
    worker.once('error', (err) => {
      answered = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the buffer thread exited with code ${code} before it answered`));
    });
  });
}
