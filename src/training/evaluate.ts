/**
 * Model evaluation (issue 3, item 4): the figures of one loaded version on labelled examples —
 * `{n, accuracy, per_class, confusion}` for classifiers, `{n, spearman, recall_at_1}` for embeddings — plus
 * the items that could not be used, each with a reason naming the field. The rest still count. Used by
 * `POST /api/models/{type}/{version}/evaluate` and by a finishing training job (candidate vs stable).
 */
import { ModelLoadFailed, TrinityError } from '../errors.js';
import type { ModelType } from '../model-types.js';
import { evaluateClassifier } from './evaluate-classifier.js';
import { evaluateEmbedding, type EmbeddingFigures } from './evaluate-embedding.js';
import { EVALUATION_YIELD_MS, type ItemRejection } from './evaluate-items.js';
import { Pacer } from '../util/pacer.js';
import type { ClassificationFigures } from '../models/kernels/metrics.js';
import { getTrainerModule } from '../models/index.js';
import type { Example, Predictor } from '../models/types.js';

export type EvaluationFigures = ClassificationFigures | EmbeddingFigures;

/** The figures plus the examples left out (index into the examples handed over). */
export type EvaluationResult = EvaluationFigures & { rejected: ItemRejection[] };

/** Evaluates an already loaded predictor; never disposes it (the caller owns it). */
export async function evaluatePredictor(predictor: Predictor, examples: readonly Example[]): Promise<EvaluationResult> {
  const pacer = new Pacer(EVALUATION_YIELD_MS);
  const type = predictor.modelType;
  const { figures, rejected } = type === 'embedding' ? await evaluateEmbedding(predictor, examples, pacer) : await evaluateClassifier(predictor, type, examples, pacer);
  return { ...figures, rejected };
}

/**
 * Loads the predictor of `type` from `dir`, wrapping a failure as ModelLoadFailed (the original as
 * `cause`). `label` names the version in the message (a version, or "export of job …").
 */
export async function loadPredictor(type: ModelType, dir: string, label: string = dir): Promise<Predictor> {
  const module = getTrainerModule(type);
  try {
    return await module.loadPredictor(dir);
  } catch (err) {
    if (err instanceof TrinityError) throw err;
    throw ModelLoadFailed.with({ cause: err }, type, label, err instanceof Error ? err.message : String(err));
  }
}

/** Loads the exported version in `dir` once, evaluates it on `examples` and frees it. */
export async function evaluateVersion(type: ModelType, dir: string, examples: readonly Example[]): Promise<EvaluationResult> {
  const predictor = await loadPredictor(type, dir);
  try {
    return await evaluatePredictor(predictor, examples);
  } finally {
    predictor.dispose();
  }
}

export { rejectionReason, EVALUATION_YIELD_MS, type ItemRejection } from './evaluate-items.js';
export type { EmbeddingFigures } from './evaluate-embedding.js';
export type { ClassificationFigures, ClassFigures } from '../models/kernels/metrics.js';
