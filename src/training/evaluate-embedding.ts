/**
 * Evaluation of an embedding model on pairs (CONTRACT §3): `{n, spearman, recall_at_1}`. Each distinct text
 * is embedded once through the predictor; the figures come from the same function the trainer reports its
 * validation figures with (pairFigures), so the two agree on what Spearman and recall@1 mean: Spearman of
 * cosine vs score over scored pairs, recall@1 of finding each positive pair's second text among the other
 * positives' second texts.
 */
import { rejectionReason, type ItemRejection, type Pacer } from './evaluate-items.js';
import { EMBEDDING_DEFAULTS } from '../models/embedding/options.js';
import { MAX_SCORE, pairFigures, type PairSet } from '../models/embedding/pairs.js';
import type { Example, Predictor } from '../models/types.js';

export interface EmbeddingFigures {
  /** Pairs that counted. */
  n: number;
  /** null with fewer than two scored pairs (or constant scores). */
  spearman: number | null;
  /** null without positive pairs. */
  recall_at_1: number | null;
  /** Pairs with a score (Spearman's n) and pairs that mean the same (recall@1's n). */
  scored_n: number;
  positive_n: number;
}

interface Pair {
  a: number;
  b: number;
  score: number;
}

/** The two texts of an example with the fields they came from, its score (NaN for a positive pair), or why it is no pair. */
function pairOf(ex: Example): { fields: [string, string]; texts: [unknown, unknown]; score: number } | { error: string } {
  const input = ex.input;
  if (input.text_a !== undefined || input.text_b !== undefined) {
    const s = ex.score;
    if (typeof s !== 'number' || !(s >= 0 && s <= MAX_SCORE)) return { error: `expected_output.score must be a number from 0 to ${MAX_SCORE}` };
    return { fields: ['input.text_a', 'input.text_b'], texts: [input.text_a, input.text_b], score: s };
  }
  return { fields: ['input.text', 'input.positive'], texts: [input.text, input.positive], score: NaN };
}

/** The predictor's messages speak of `input.text` (what it is asked with); name the field the text came from. */
function renamed(message: string, field: string): string {
  const own = 'input.text';
  return message.startsWith(`${own} `) ? `${field}${message.slice(own.length)}` : `${field}: ${message}`;
}

export async function evaluateEmbedding(
  predictor: Predictor,
  examples: readonly Example[],
  pacer: Pacer,
  positiveThreshold: number = EMBEDDING_DEFAULTS.positiveThreshold,
): Promise<{ figures: EmbeddingFigures; rejected: ItemRejection[] }> {
  const ids = new Map<string, number>();
  const vectors: Float64Array[] = [];
  const failures = new Map<string, string>();
  let dim = -1;
  /** The id of `text`'s vector, embedding it on first sight, or why it cannot be embedded (naming `field`). */
  const embed = async (text: unknown, field: string): Promise<{ id: number } | { error: string }> => {
    if (typeof text !== 'string' || text.trim() === '') return { error: `${field} must be a non-empty string` };
    const known = ids.get(text);
    if (known !== undefined) return { id: known };
    const failed = failures.get(text);
    if (failed !== undefined) return { error: renamed(failed, field) };
    const fail = (reason: string) => {
      failures.set(text, reason);
      return { error: renamed(reason, field) };
    };
    let out: unknown;
    try {
      out = predictor.predict({ text }).embedding;
    } catch (err) {
      return fail(rejectionReason(err));
    } finally {
      await pacer.tick();
    }
    if (!Array.isArray(out) || out.length === 0 || (dim !== -1 && out.length !== dim)) return fail('prediction failed: no embedding vector of the model width');
    dim = out.length;
    ids.set(text, vectors.length);
    vectors.push(Float64Array.from(out as number[]));
    return { id: vectors.length - 1 };
  };

  const pairs: Pair[] = [];
  const rejected: ItemRejection[] = [];
  for (let index = 0; index < examples.length; index++) {
    const p = pairOf(examples[index]);
    if ('error' in p) {
      rejected.push({ index, error: p.error });
      continue;
    }
    const a = await embed(p.texts[0], p.fields[0]);
    if ('error' in a) {
      rejected.push({ index, error: a.error });
      continue;
    }
    const b = await embed(p.texts[1], p.fields[1]);
    if ('error' in b) {
      rejected.push({ index, error: b.error });
      continue;
    }
    pairs.push({ a: a.id, b: b.id, score: p.score });
  }
  return { figures: figuresOf(pairs, vectors, Math.max(dim, 0), positiveThreshold), rejected };
}

function figuresOf(pairs: readonly Pair[], vectors: readonly Float64Array[], dim: number, positiveThreshold: number): EmbeddingFigures {
  const score = Float32Array.from(pairs, (p) => p.score);
  const set: PairSet = {
    texts: vectors.map((_, i) => String(i)),
    a: Int32Array.from(pairs, (p) => p.a),
    b: Int32Array.from(pairs, (p) => p.b),
    score,
    // A pair without a score was given as "these two mean the same" (as in training).
    positive: Uint8Array.from(score, (s) => (Number.isNaN(s) || s >= positiveThreshold ? 1 : 0)),
    skipped: 0,
  };
  const unit = new Float64Array(vectors.length * dim);
  vectors.forEach((v, i) => unit.set(v, i * dim));
  const f = pairFigures(set, unit, dim);
  const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return { n: pairs.length, spearman: num(f.spearman), recall_at_1: num(f.recallAt1), scored_n: f.scored, positive_n: f.positives };
}
