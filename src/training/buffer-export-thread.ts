/**
 * A job's dataset from the experience buffer, written on a thread of its own (buffer-export.ts): reading a
 * buffer of several hundred thousand rows and writing them out is seconds of work that, on reactor's loop,
 * held every request behind it for tens of milliseconds at a time while the trainer and prime kept both cores busy.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createTrainingData } from '../experiences/index.js';
import { ExperienceStore } from '../experiences/experiences-store.js';
import { openDatabase } from '../store/database.js';
import { SqliteSql } from '../store/sql.js';
import { writeDataset } from './dataset-file.js';
import { DatasetTally, tallied } from './dataset-tally.js';
import type { BufferExportReply, BufferExportRequest } from './buffer-export.js';

if (!parentPort) throw new Error('buffer-export-thread runs as a worker thread of exportBufferInThread');
const req = workerData as BufferExportRequest;

async function run(): Promise<BufferExportReply> {
  const db = openDatabase({ path: req.databasePath });
  try {
    const data = createTrainingData(new ExperienceStore(new SqliteSql(db), { minQuality: req.minQuality }));
    const { maxSeq, pages } = await data.bufferPages(req.modelType);
    const tally = new DatasetTally();
    await writeDataset(req.path, tallied(pages, tally));
    return { maxSeq, counts: tally.toJSON() };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: { message: e.message, code: typeof e.code === 'string' ? e.code : null } };
  } finally {
    db.close();
  }
}

parentPort.postMessage(await run());
