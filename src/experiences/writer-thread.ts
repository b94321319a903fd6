/** ExperienceWriter's thread: its own connection, one transaction per batch, in arrival order. */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../store/database.js';
import { storageTrouble } from '../util/fs.js';
import { ExperienceStore } from './experiences-store.js';
import type { WriterReply, WriterRequest, WriterSetup } from './writer-protocol.js';

const port = parentPort;
if (!port) throw new Error('writer-thread runs as a worker thread of ExperienceWriter');
const setup = workerData as WriterSetup;
const db = openDatabase({ path: setup.path });
const store = new ExperienceStore(db, { minQuality: setup.minQuality });

port.on('message', (req: WriterRequest) => {
  if (req === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    reply = { id: req.id, counts: store.insertRows(req.rows, req.file, req.carried) };
  } catch (err) {
    const cause = (err as Error).cause;
    reply = { id: req.id, error: { message: cause instanceof Error ? `insert experiences: ${cause.message}` : (err as Error).message, code: storageTrouble(err) } };
  }
  port.postMessage(reply);
});
