/**
 * The nlu trainer's memory estimate (see memory-estimate.ts): what nlu.ts and nlu-features.ts allocate for
 * a job, counted from the job's own texts. The texts are hashed here as the trainer will hash them (~5 µs
 * each), so the feature count and the table's rows are the real ones, not guesses from the row count.
 */
import { hashFeatures } from '../text/text-features.js';
import { datasetParts, memoryEstimate, type MemoryEstimate, type MemoryPart } from '../kernels/memory-estimate.js';
import { extractTexts } from './features.js';
import { EVAL_BATCH_SIZE, resolveNluSettings } from './options.js';
import type { Example, TrainerOptions } from '../types.js';

/**
 * Bytes per hashed feature id: the JS number[] it is first pushed to (8, with up to as much again of the
 * array's earlier, outgrown copies), the Uint32Array it is packed into (4), and the CSR row and weight of
 * the feature matrix with their trimmed copies (16).
 */
const BYTES_PER_FEATURE_ID = 16 + 4 + 16;
/**
 * Bytes per table row besides its floats: the row-wise second moment, the batch slot, the bucket id and
 * the row weight (4 each), and the bucket in the JS array the vocabulary is sorted from (8).
 */
const BYTES_PER_ROW = 4 * 4 + 8;
/** Per bucket of the hash space: the vocabulary lookup, the document frequencies and the last-document marks. */
const BYTES_PER_BUCKET = 3 * 4;

export function estimateNluMemory(train: readonly Example[], validation: readonly Example[], options: TrainerOptions): MemoryEstimate {
  const settings = resolveNluSettings(options);
  const { hashBits } = settings.features;
  const dim = settings.embeddingDim;
  const seen = new Uint8Array(2 ** hashBits);
  const ids: number[] = [];
  let rows = 0;
  let featureIds = 0;
  const lengths: number[] = [];
  for (const text of extractTexts(train).texts) {
    ids.length = 0;
    featureIds += hashFeatures(text, settings.features, ids).length;
    lengths.push(ids.length);
    for (const b of ids) {
      if (seen[b] === 1) continue;
      seen[b] = 1;
      rows++;
    }
  }
  const trainIds = featureIds;
  // The most ids a batch can hold: the wasm table's per-batch arrays are sized for it.
  const widestBatch = lengths.sort((a, b) => b - a).slice(0, settings.batchSize).reduce((a, b) => a + b, 0);
  for (const text of extractTexts(validation).texts) {
    ids.length = 0;
    featureIds += hashFeatures(text, settings.features, ids).length;
  }
  const tableBytes = rows * dim * 4;
  const layers = [dim, ...settings.hidden];
  const headWeights = layers.reduce((sum, n, i) => sum + n * (layers[i + 1] ?? 0), 0);
  const widest = Math.max(settings.batchSize, EVAL_BATCH_SIZE);
  const parts: MemoryPart[] = [
    ...datasetParts([...train, ...validation]),
    { what: `hash space 2^${hashBits} × ${BYTES_PER_BUCKET} B`, bytes: 2 ** hashBits * BYTES_PER_BUCKET },
    { what: `${featureIds.toLocaleString('en-US')} feature ids`, bytes: featureIds * BYTES_PER_FEATURE_ID },
    { what: `table ${rows.toLocaleString('en-US')} × ${dim} with Adam state`, bytes: tableBytes + rows * BYTES_PER_ROW },
    // saveState and exportModel each pack the table into one buffer before writing; the last checkpoint's
    // buffer may still await collection while the export's is filled.
    { what: 'checkpoint + export copies of the table', bytes: 2 * tableBytes },
    // sparse-embedding.ts's wasm table: the training matrix's rows and weights copied into its memory (the
    // JS matrix is dropped after init, but both exist then), and each batch's grouped row uses.
    { what: "training rows in the table's wasm memory", bytes: trainIds * 8 + 3 * 4 * widestBatch },
    // model.onnx (nlu-onnx.ts): its bucket → row table (4 bytes per bucket) and the encoded model, which
    // holds the table and that bucket table again, while weights.bin's packed copy is still referenced.
    { what: 'model.onnx: bucket table and encoded model', bytes: tableBytes + 2 * 4 * 2 ** hashBits },
    // A batch's pooled vectors and activations, in JS and again as tensors; the head's weights, gradient and moments.
    { what: 'batch activations and head', bytes: 2 * widest * layers.reduce((a, b) => a + b, 0) * 4 + 4 * 4 * headWeights },
  ];
  return memoryEstimate('nlu', parts);
}
