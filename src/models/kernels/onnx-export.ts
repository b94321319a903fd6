/**
 * The portable export every model type writes beside its own files (issue 15, docs/onnx-export.md):
 * `model.onnx`, an inference graph any ONNX runtime can serve, with its weights stored as initializers
 * and named, documented inputs and outputs; and `onnx.json`, which says what those tensors are and how
 * to make the inputs from an experience's input (the featurisation), precisely enough to reproduce
 * without Trinity's code. A finishing job copies `onnx.json` into the version's manifest as `onnx`.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/fs.js';
import type { Dim, GraphBuilder } from '../graph/builder.js';
import { IR_VERSION, OPSET, type ElemTypeName } from '../graph/onnx-schema.js';
import { BOW, EOW, SEED_CHAR, SEED_NGRAM, SEED_WORD, WORD_JOINER, hashFeatures, type TextFeatureConfig } from '../text/text-features.js';

export const ONNX_MODEL_FILE = 'model.onnx';
export const ONNX_DESCRIPTION_FILE = 'onnx.json';

/** One input or output of model.onnx. */
export interface OnnxTensor {
  name: string;
  dtype: 'float32' | 'int64';
  /** Fixed sizes, or names of dimensions fixed per run (`batch`, `features`). */
  shape: Dim[];
  description: string;
}

/** onnx.json, and the manifest's `onnx` section. */
export interface OnnxDescription {
  file: string;
  ir_version: number;
  opset: number;
  inputs: OnnxTensor[];
  outputs: OnnxTensor[];
  /** Classifiers: the label of each column of `probabilities` and `logits`. */
  labels?: string[];
  /** How J-Prime turns the outputs into its answer (thresholds), when it does more than take the top label. */
  decision?: Record<string, unknown>;
  /** How an experience's input becomes the graph's inputs. */
  featurisation: Record<string, unknown>;
}

const DTYPES: Record<OnnxTensor['dtype'], ElemTypeName> = { float32: 'float', int64: 'int64' };

/** A graph whose inputs and outputs are declared and described at once, so the two never disagree. */
export class PortableGraph {
  readonly inputs: OnnxTensor[] = [];
  readonly outputs: OnnxTensor[] = [];

  constructor(readonly g: GraphBuilder) {}

  input(t: OnnxTensor): string {
    this.inputs.push(t);
    return this.g.input(t.name, t.shape, DTYPES[t.dtype], t.description);
  }

  output(t: OnnxTensor): void {
    this.outputs.push(t);
    this.g.output(t.name, t.shape, DTYPES[t.dtype], t.description);
  }

  /** The description of this graph with the type's own fields. */
  describe(rest: Pick<OnnxDescription, 'featurisation' | 'labels' | 'decision'>): OnnxDescription {
    return { file: ONNX_MODEL_FILE, ir_version: IR_VERSION, opset: OPSET, inputs: this.inputs, outputs: this.outputs, ...rest };
  }
}

/** The probabilities/logits pair of a classifier, described for `labels`. */
export function classifierOutputs(p: PortableGraph, batch: Dim, labels: readonly string[]): void {
  const shape = [batch, labels.length];
  p.output({ name: 'logits', dtype: 'float32', shape, description: 'Unnormalised scores, one column per label (in `labels` order).' });
  p.output({ name: 'probabilities', dtype: 'float32', shape, description: 'Softmax of the logits: one row per input, one column per label (in `labels` order).' });
  p.g.meta('labels', JSON.stringify(labels));
}

/** How J-Prime answers from a classifier's probabilities. */
export const CLASSIFIER_DECISION = Object.freeze({
  label: 'labels[j] for the j of the largest probability (ties: the lower j)',
  confidence: 'that largest probability',
  top_k: 'labels by probability, highest first, ties by lower j',
});

/** Writes model.onnx and onnx.json into an export folder. */
export async function writeOnnxExport(dir: string, model: Uint8Array, description: OnnxDescription): Promise<void> {
  await Promise.all([writeFileAtomic(join(dir, ONNX_MODEL_FILE), model), writeFileAtomic(join(dir, ONNX_DESCRIPTION_FILE), JSON.stringify(description, null, 2) + '\n')]);
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/** A text whose feature ids a reimplementation can check itself against. */
const EXAMPLE_TEXT = 'Wake me up at 7 — don’t be late!';

/**
 * The text featurisation of text-features.ts, spelt out: from a string to the bucket ids the nlu and
 * embedding graphs take as `feature_ids`, with an example text and its ids to check against.
 */
export function textFeaturisation(c: TextFeatureConfig): Record<string, unknown> {
  return {
    kind: 'hashed-ngrams',
    reference: 'src/models/text/text-features.ts (hashFeatures)',
    text: 'input.text',
    normalise: 'Unicode NFKC, then lower case (JavaScript String.prototype.toLowerCase)',
    tokens: "maximal runs of letters and digits (Unicode \\p{L} and \\p{N}) joined by single inner apostrophes (' or ’, ’ read as '): regex [\\p{L}\\p{N}]+(?:['’][\\p{L}\\p{N}]+)*; a token is its sequence of code points",
    features_in_order: [
      'one word unigram per token',
      c.wordNgrams >= 2 ? `word n-grams for n = 2..${c.wordNgrams}, each over n consecutive tokens, left to right` : 'no word n-grams',
      c.charMaxN > 0
        ? `character n-grams of each token in turn, the token framed by markers (${hex(BOW)} '<' before, ${hex(EOW)} '>' after): for each start position left to right, lengths ${c.charMinN}..${c.charMaxN} code points ascending, as far as the end marker`
        : 'no character n-grams',
    ],
    repeats: 'kept: a feature that occurs twice gives its id twice',
    hash: {
      name: 'FNV-1a 32-bit over code points, then murmur3 fmix32',
      fnv_prime: 16777619,
      offset_basis: { word: hex(SEED_WORD), word_ngram: hex(SEED_NGRAM), char_ngram: hex(SEED_CHAR) },
      code_point_bytes: 'h = (h xor (cp & 0xff)) * prime; then if cp > 0xff: h = (h xor ((cp >>> 8) & 0xff)) * prime; then if cp > 0xffff: h = (h xor (cp >>> 16)) * prime (all mod 2^32)',
      word_joiner: `${hex(WORD_JOINER)}, hashed as a code point between the tokens of a word n-gram`,
      finish: 'h ^= h >>> 16; h = h * 0x85ebca6b; h ^= h >>> 13; h = h * 0xc2b2ae35; h ^= h >>> 16 (mod 2^32)',
      bucket: `h & (2^${c.hashBits} - 1)`,
    },
    hash_bits: c.hashBits,
    word_ngrams: c.wordNgrams,
    char_ngrams: c.charMaxN > 0 ? [c.charMinN, c.charMaxN] : null,
    example: { text: EXAMPLE_TEXT, feature_ids: hashFeatures(EXAMPLE_TEXT, c) },
  };
}
