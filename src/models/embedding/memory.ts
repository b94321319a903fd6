/**
 * The embedding trainer's memory estimate (see memory-estimate.ts): what embedding.ts and
 * embedding-features.ts allocate for a job. The unique texts are hashed here as the trainer will hash
 * them, so the table's trainable rows (buckets in ≥ minCount texts, at most maxRows) are the real count.
 */
import { hashFeatures } from '../text/text-features.js';
import { FIXED_CACHE_BYTES } from './features.js';
import { EVAL_BATCH_SIZE, resolveEmbeddingSettings } from './options.js';
import { RECALL_GROUP_SIZE } from './pairs.js';
import { datasetParts, HEAP_GROWTH, memoryEstimate, type MemoryEstimate, type MemoryPart } from '../kernels/memory-estimate.js';
import type { Example, TrainerOptions } from '../types.js';

/**
 * Bytes per feature of a text: its bucket and weight pushed to JS number[]s (8 each, JS heap so
 * HEAP_GROWTH) and then packed into typed arrays (4 each), plus ~64 bytes of the containers it passes
 * through on the way, dead at once but many promoted before they die: the array the usability check
 * hashes into, the per-text Set of the frequency count, and the per-text bucket and weight arrays.
 */
const BYTES_PER_FEATURE = HEAP_GROWTH * 16 + 8 + 64;
/** A Map entry of the document frequencies and its [bucket, count] pair when rows are chosen (JS heap). */
const BYTES_PER_BUCKET_SEEN = HEAP_GROWTH * (40 + 64);

/** The unique texts of train (first) and validation pairs: the trainer featurises each once. */
function uniqueTexts(examples: readonly Example[]): string[] {
  const texts = new Set<string>();
  for (const ex of examples) {
    const input = ex.input !== null && typeof ex.input === 'object' ? ex.input : {};
    for (const v of [input.text_a, input.text_b, input.text, input.positive]) if (typeof v === 'string' && v.trim() !== '') texts.add(v);
  }
  return [...texts];
}

export function estimateEmbeddingMemory(train: readonly Example[], validation: readonly Example[], options: TrainerOptions): MemoryEstimate {
  const s = resolveEmbeddingSettings(options);
  const { dim } = s;
  const space = 2 ** s.features.hashBits;
  const docFreq = new Uint32Array(space);
  const lastDoc = new Int32Array(space).fill(-1);
  const ids: number[] = [];
  const trainTexts = uniqueTexts(train);
  const valTexts = uniqueTexts(validation);
  let features = 0;
  let seen = 0;
  trainTexts.forEach((text, i) => {
    ids.length = 0;
    features += hashFeatures(text, s.features, ids).length;
    for (const b of ids) {
      if (lastDoc[b] === i) continue;
      lastDoc[b] = i;
      if (docFreq[b]++ === 0) seen++;
    }
  });
  for (const text of valTexts) {
    ids.length = 0;
    features += hashFeatures(text, s.features, ids).length;
  }
  let rows = 0;
  for (let b = 0; b < space; b++) if (docFreq[b] >= s.minCount) rows++;
  rows = Math.min(rows, s.maxRows);
  const tableBytes = rows * dim * 4;
  const moments = tableBytes + (s.secondMoment === 'row' ? rows * 4 : tableBytes);
  const texts = trainTexts.length + valTexts.length;
  const fixed = (n: number) => (n * dim * 4 <= FIXED_CACHE_BYTES ? n * dim * 4 : 0);
  const batch = s.batchSize + 1;
  const projection = s.architecture === 'ngram-bag-projection' ? 4 * dim * dim * 4 : 0;
  const parts: MemoryPart[] = [
    ...datasetParts([...train, ...validation]),
    { what: `hash lookup 2^${s.features.hashBits} and ${seen.toLocaleString('en-US')} bucket counts`, bytes: 4 * space + seen * BYTES_PER_BUCKET_SEEN },
    { what: `${features.toLocaleString('en-US')} features of ${texts.toLocaleString('en-US')} texts`, bytes: features * BYTES_PER_FEATURE },
    // The table, its initial copy (garbage once set), Adam's moments, a batch slot per row, and the
    // checkpoint (table + moments) and export (table) copies packed before they are written.
    { what: `table ${rows.toLocaleString('en-US')} × ${dim} with Adam state`, bytes: 2 * tableBytes + moments + 4 * rows + (tableBytes + moments) + tableBytes },
    // model.onnx (embedding-onnx.ts): its bucket → row table (4 bytes per bucket) and the encoded model,
    // which holds the table and that bucket table again.
    { what: 'model.onnx: bucket table and encoded model', bytes: tableBytes + 2 * 4 * space },
    { what: 'cached fixed parts', bytes: fixed(trainTexts.length) + fixed(valTexts.length) },
    // Validation vectors (current and untrained), the recall group's similarities, the evaluation and
    // batch buffers with their masks, each batch in JS and as tensors, and the projection's state.
    {
      what: 'evaluation and batch buffers',
      bytes: 2 * valTexts.length * dim * 4 + RECALL_GROUP_SIZE ** 2 * 8 + 2 * Math.max(EVAL_BATCH_SIZE, 2 * s.batchSize) * dim * 4 + 2 * (2 * batch * dim + 3 * batch * batch) * 4 + projection,
    },
  ];
  return memoryEstimate('embedding', parts);
}
