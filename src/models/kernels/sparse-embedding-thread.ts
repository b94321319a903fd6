/**
 * The helper thread of a SparseEmbedding (startHelper): pools its half of each batch and updates its
 * share of the batch's rows, with the very functions the main thread runs, on the shared table.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ARG0, ARG1, CMD, DONE, FAILED, POOL, poolRows, SEQ, STOP, UPDATE, updateSlots, type HelperSetup, type RowUpdate } from './sparse-embedding.js';

const port = parentPort;
if (!port) throw new Error('sparse-embedding-thread runs as a worker thread of SparseEmbedding');
const s = workerData as HelperSetup;
const c = s.control;
const x = { count: s.offsets.length - 1, offsets: s.offsets, rows: s.rows, weights: s.weights };
const u: RowUpdate = { ...s, rowGrad: new Float32Array(s.dim) };
port.postMessage('ready');

let seen = 0;
for (;;) {
  Atomics.wait(c, SEQ, seen);
  seen = Atomics.load(c, SEQ);
  const cmd = c[CMD];
  if (cmd === STOP) break;
  try {
    if (cmd === POOL) {
      // Examples [ARG0, ARG1) of the batch's order, pooled from the start of `pooled`.
      poolRows(s.table, s.dim, x, s.order.subarray(c[ARG0]), 0, c[ARG1] - c[ARG0], s.pooled);
    } else if (cmd === UPDATE) {
      const p = s.params;
      updateSlots(u, s.dPooled, c[ARG0], c[ARG1], { learningRate: p[1], beta1: p[2], beta2: p[3], epsilon: p[4] }, p[0]);
    }
  } catch (e) {
    console.error(e);
    Atomics.store(c, FAILED, 1);
  }
  Atomics.store(c, DONE, seen);
  Atomics.notify(c, DONE);
}
