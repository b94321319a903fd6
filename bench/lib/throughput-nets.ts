/**
 * The dense and convolutional networks Trinity trains, each with real training data in two forms: the
 * examples its trainer takes, and the same numbers as raw arrays for bench/peers/throughput_torch.py, which
 * rebuilds the network in PyTorch with the same shapes, batch size, optimiser and learning rate.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelType } from '../../src/model-types.js';
import { buildFeatureSpace, featurizeTexts } from '../../src/models/embedding/features.js';
import { resolveEmbeddingSettings } from '../../src/models/embedding/options.js';
import { extractPairs } from '../../src/models/embedding/pairs.js';
import { buildTrainingFeatures } from '../../src/models/nlu/features.js';
import { resolveNluSettings } from '../../src/models/nlu/options.js';
import type { Example } from '../../src/models/types.js';
import { filtersFor, resolveVisionSettings } from '../../src/models/vision/options.js';
import { prepareVoiceData } from '../../src/models/voice/data.js';
import { resolveVoiceSettings } from '../../src/models/voice/options.js';
import { readCsvRows } from './data.js';
import { fsddBase64, fsddRows } from './fsdd.js';
import { readOptdigits } from './optdigits.js';

export interface Network {
  /** Row label, e.g. "voice MLP 120-128-6". */
  name: string;
  modelType: ModelType;
  examples: Example[];
  batchSize: number;
  /** Timed epochs (after one untimed warm-up epoch), the same on both sides. */
  epochs: number;
  /** What throughput_torch.py needs besides the arrays: kind, shapes, learning rate. */
  spec: Record<string, unknown>;
  /** Writes the arrays into `dir`. */
  write(dir: string): void;
}

function save(dir: string, name: string, a: Float32Array | Int32Array | Uint32Array): void {
  writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

const labelIds = (labels: readonly string[]): { classes: string[]; ids: Int32Array } => {
  const classes = [...new Set(labels)].sort();
  const id = new Map(classes.map((c, i) => [c, i]));
  return { classes, ids: Int32Array.from(labels, (l) => id.get(l) as number) };
};

/** nlu `fasttext` on SNIPS train: mean of hashed n-gram rows (a sparse table) → dense softmax head. */
export function nluNetwork(epochs: number): Network {
  const rows = readCsvRows('nlu-snips/train.csv');
  const settings = resolveNluSettings({ epochs });
  const texts = rows.map((r) => r[0]);
  const { classes, ids } = labelIds(rows.map((r) => r[1]));
  // The same featuriser call the trainer makes in init, so PyTorch sees the very bags Trinity pools.
  const { vocab, matrix } = buildTrainingFeatures(texts, settings.features, settings.weighting);
  return {
    name: `nlu fasttext: bag of ${vocab.buckets.length.toLocaleString('en-US')}×${settings.embeddingDim} rows → ${classes.length}`,
    modelType: 'nlu',
    examples: rows.map((r, i) => ({ id: `snips-${i}`, input: { text: r[0] }, label: r[1] })),
    batchSize: settings.batchSize,
    epochs,
    spec: { kind: 'fasttext', rows: vocab.buckets.length, dim: settings.embeddingDim, classes: classes.length, batch: settings.batchSize, lr: settings.adam.learningRate },
    write(dir) {
      save(dir, 'offsets.u32', matrix.offsets);
      save(dir, 'rows.i32', matrix.rows);
      save(dir, 'weights.f32', matrix.weights);
      save(dir, 'labels.i32', ids);
    },
  };
}

/**
 * embedding `ngram-bag` on STS-B train pairs: pooled n-gram rows (a sparse table) plus each text's fixed
 * random part → unit vectors → symmetric in-batch InfoNCE with the shared-text mask + gap-weighted pairwise
 * ranking. The peer gets the very bags and fixed parts the trainer pools (its own featuriser calls).
 */
export function embeddingNetwork(epochs: number): Network {
  const rows = readCsvRows('embedding-stsb/pairs_train.csv');
  const settings = resolveEmbeddingSettings({ epochs });
  const examples = rows.map((r, i) => ({ id: `stsb-${i}`, input: { text_a: r[4], text_b: r[5] }, score: Number(r[6]) }));
  const pairs = extractPairs(examples, settings.positiveThreshold, settings.features);
  const space = buildFeatureSpace(pairs.texts, settings.features, settings.dim, 1, settings.minCount, settings.maxRows);
  const bags = featurizeTexts(pairs.texts, space);
  if (!bags.fixedDense) throw new RangeError('the fixed parts of the STS-B texts no longer fit the cache; write them another way');
  const fixed = bags.fixedDense;
  return {
    name: `embedding n-gram bag: ${space.buckets.length.toLocaleString('en-US')}×${settings.dim} rows, InfoNCE + ranking`,
    modelType: 'embedding',
    examples,
    batchSize: settings.batchSize,
    epochs,
    spec: {
      kind: 'contrastive',
      rows: space.buckets.length,
      dim: settings.dim,
      batch: settings.batchSize,
      lr: settings.adam.learningRate,
      scale: settings.contrastiveScale,
      rank_scale: settings.rankScale,
      positive_threshold: settings.positiveThreshold,
    },
    write(dir) {
      save(dir, 'offsets.u32', bags.matrix.offsets);
      save(dir, 'rows.i32', bags.matrix.rows);
      save(dir, 'weights.f32', bags.matrix.weights);
      save(dir, 'fixed.f32', fixed);
      save(dir, 'a.i32', pairs.a);
      save(dir, 'b.i32', pairs.b);
      save(dir, 'score.f32', pairs.score);
    },
  };
}

/** All of FSDD featurised by the voice trainer's own code (no validation split), with its default settings. */
export function fsddVoiceData(epochs: number): { settings: ReturnType<typeof resolveVoiceSettings>; data: ReturnType<typeof prepareVoiceData> } {
  const clips = fsddRows().map((r) => ({ id: r.file, input: { audio: fsddBase64(r.file) }, label: r.speaker }));
  return { settings: resolveVoiceSettings({ epochs }, {}), data: prepareVoiceData(clips, [], {}) };
}

/**
 * voice `mlp` on FSDD's pooled MFCC statistics. The clips are featurised once here (prepareVoiceData, the
 * trainer's own code) and handed to the trainer as `audio_embedding` vectors: the same network on the same
 * numbers, without paying for featurising twice in a throughput measurement.
 */
export function voiceNetwork(epochs: number): Network {
  const { settings, data } = fsddVoiceData(epochs);
  const { x, y, n } = data.train;
  const sizes = [data.dim, ...settings.hidden, data.labels.length];
  return {
    name: `voice MLP ${sizes.join('-')} (+ input noise)`,
    modelType: 'voice',
    examples: Array.from({ length: n }, (_, i) => ({ id: `fsdd-${i}`, input: { audio_embedding: Array.from(x.subarray(i * data.dim, (i + 1) * data.dim)) }, label: data.labels[y[i]] })),
    batchSize: settings.batchSize,
    epochs,
    spec: { kind: 'mlp', sizes, noise: settings.inputNoise, batch: settings.batchSize, lr: settings.adam.learningRate },
    write(dir) {
      save(dir, 'x.f32', x);
      save(dir, 'labels.i32', y);
    },
  };
}

/** vision `cnn` on optdigits train (8×8 grey): conv3×3 → pool → ReLU → conv3×3 → ReLU → dense softmax. */
export function visionNetwork(epochs: number): Network {
  const rows = readOptdigits('train');
  const settings = resolveVisionSettings({ epochs });
  const side = 8;
  const scale = rows.reduce((m, r) => r.pixels.reduce((a, v) => Math.max(a, v), m), 1);
  const filters = filtersFor(settings, side, side);
  const { classes, ids } = labelIds(rows.map((r) => r.label));
  return {
    name: `vision CNN 8×8×1 → conv ${filters[0]} → pool → conv ${filters[1]} → ${classes.length}`,
    modelType: 'vision',
    examples: rows.map((r, i) => ({ id: `optdigits-${i}`, input: { pixels: r.pixels, width: side, height: side }, label: r.label })),
    batchSize: settings.batchSize,
    epochs,
    spec: { kind: 'cnn', height: side, width: side, channels: 1, filters, classes: classes.length, label_smoothing: settings.labelSmoothing, batch: settings.batchSize, lr: settings.adam.learningRate },
    write(dir) {
      // The trainer divides pixels by the largest training value (16 on optdigits); so does the peer's copy.
      save(dir, 'x.f32', Float32Array.from(rows.flatMap((r) => r.pixels), (v) => v / scale));
      save(dir, 'labels.i32', ids);
    },
  };
}
