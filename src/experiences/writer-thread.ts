/** ExperienceWriter's thread: its own SQLite connection, one transaction per batch, in arrival order. */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { openDatabase } from '../store/database.js';
import { SqliteSql } from '../store/sql.js';
import { storageTrouble } from '../util/fs.js';
import { ExperienceStore } from './experiences-store.js';
import type { WriterReply, WriterRequest, WriterSetup } from './writer-protocol.js';

if (!parentPort) throw new Error('writer-thread runs as a worker thread of ExperienceWriter');
const port: MessagePort = parentPort;
const setup = workerData as WriterSetup;
const db = openDatabase({ path: setup.path });
const store = new ExperienceStore(new SqliteSql(db), { minQuality: setup.minQuality });

async function handle(req: WriterRequest): Promise<void> {
  if (req === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    reply = { id: req.id, counts: await store.insertRows(req.rows, req.file, req.carried) };
  } catch (err) {
    const cause = (err as Error).cause;
    reply = { id: req.id, error: { message: cause instanceof Error ? `insert experiences: ${cause.message}` : (err as Error).message, code: storageTrouble(err) } };
  }
  port.postMessage(reply);
}

// One request at a time, in arrival order; 'close' after every batch before it. Anything handle() does not
// answer itself ends the thread, which ExperienceWriter reports to the batches in flight.
let queue = Promise.resolve();
port.on('message', (req: WriterRequest) => {
  queue = queue
    .then(() => handle(req))
    .catch((err: unknown) =>
      process.nextTick(() => {
        throw err;
      }),
    );
});
