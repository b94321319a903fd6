/** The thread of buffer-thread.ts: one piece of work over a type's buffer snapshot, then it ends. */
import { parentPort, workerData } from 'node:worker_threads';
import { createTrainingData } from '../experiences/index.js';
import { ExperienceStore } from '../experiences/experiences-store.js';
import { getTrainerModule } from '../models/index.js';
import { openDatabase } from '../store/database.js';
import { SqliteSql } from '../store/sql.js';
import { writeDataset } from './dataset-file.js';
import { DatasetTally, tallied } from './dataset-tally.js';
import type { BufferThreadReply, BufferThreadRequest } from './buffer-thread.js';

if (!parentPort) throw new Error('buffer-thread-entry runs as a worker thread of runBufferThread');
const req = workerData as BufferThreadRequest;

async function run(): Promise<BufferThreadReply> {
  const db = openDatabase({ path: req.databasePath });
  try {
    const data = createTrainingData(new ExperienceStore(new SqliteSql(db), { minQuality: req.minQuality }));
    if (req.work.kind === 'export') {
      const { maxSeq, pages } = await data.bufferPages(req.modelType);
      const tally = new DatasetTally();
      await writeDataset(req.work.path, tallied(pages, tally));
      return { maxSeq, counts: tally.toJSON(), estimate: null };
    }
    const { train, validation, maxSeq } = await data.bufferDataset(req.modelType);
    const tally = DatasetTally.of({ train, validation });
    const estimate = tally.trainableFor(req.modelType) ? (getTrainerModule(req.modelType).estimateMemory?.(train, validation, req.work.options) ?? null) : null;
    return { maxSeq, counts: tally.toJSON(), estimate };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: { message: e.message, code: typeof e.code === 'string' ? e.code : null } };
  } finally {
    db.close();
  }
}

parentPort.postMessage(await run());
