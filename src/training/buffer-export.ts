/** Runs buffer-export-thread.ts for one job start and answers what it wrote. */
import { Worker } from 'node:worker_threads';
import type { ModelType } from '../model-types.js';
import { compiledSibling } from '../util/compiled-entry.js';
import { DatasetTally, type DatasetCounts } from './dataset-tally.js';

export interface BufferExportRequest {
  /** The SQLite file (the thread opens its own connection). */
  databasePath: string;
  minQuality: number;
  modelType: ModelType;
  /** The dataset file to write (atomically). */
  path: string;
}

export type BufferExportReply = { maxSeq: number; counts: DatasetCounts } | { error: { message: string; code: string | null } };

/** Writes the buffer's snapshot of `modelType` to `path` on a thread; the max seq read and the counts. */
export function exportBufferInThread(req: BufferExportRequest): Promise<{ maxSeq: number; tally: DatasetTally }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(compiledSibling(import.meta.url, 'buffer-export-thread.js'), { workerData: req });
    let answered = false;
    worker.once('message', (reply: BufferExportReply) => {
      answered = true;
      if ('error' in reply) reject(Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {}));
      else resolve({ maxSeq: reply.maxSeq, tally: DatasetTally.fromJSON(reply.counts) });
    });
    worker.once('error', (err) => {
      answered = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the dataset export thread exited with code ${code} before it answered`));
    });
  });
}
