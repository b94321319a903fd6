/**
 * Entry of the vision trainer's gradient worker (vision-shards.ts): loads TF.js on its own wasm backend,
 * wraps the trainer's shared images and parameters, then serves one half-batch per step until told to stop.
 */
import { workerData } from 'node:worker_threads';
import { initTf } from '../tf.js';
import { VisionCnn } from './vision-cnn.js';
import { serveShards, ShardChannel, type ShardWorkerData } from './vision-shards.js';

const data = workerData as ShardWorkerData;
const tf = await initTf();
const cnn = VisionCnn.sharing(tf, data.layout, data.params);
serveShards(cnn, data.images, new ShardChannel(data.channel));
