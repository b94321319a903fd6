/** Evaluation of a classifier (nlu, voice, vision): one prediction per example against its label. */
import type { ModelType } from '../model-types.js';
import { classificationFigures, type ClassificationFigures } from '../models/kernels/metrics.js';
import { rejectionReason, type ItemRejection, type Pacer } from './evaluate-items.js';
import type { Example, Predictor } from '../models/types.js';

export type ClassifierType = Exclude<ModelType, 'embedding'>;

/** Where each classifier's prediction names its class (CONTRACT §2, "what a prediction returns"). */
export const PREDICTED_LABEL_FIELD: Readonly<Record<ClassifierType, string>> = Object.freeze({
  nlu: 'intent',
  voice: 'user',
  vision: 'label',
});

/** Where the label of each classifier's experience lives, for messages. */
const LABEL_FIELD: Readonly<Record<ClassifierType, string>> = Object.freeze({
  nlu: 'expected_output.intent',
  voice: 'expected_output.user',
  vision: 'expected_output.label',
});

export async function evaluateClassifier(
  predictor: Predictor,
  type: ClassifierType,
  examples: readonly Example[],
  pacer: Pacer,
): Promise<{ figures: ClassificationFigures; rejected: ItemRejection[] }> {
  const field = PREDICTED_LABEL_FIELD[type];
  const truth: string[] = [];
  const predicted: string[] = [];
  const rejected: ItemRejection[] = [];
  for (let index = 0; index < examples.length; index++) {
    const ex = examples[index];
    if (typeof ex.label !== 'string' || ex.label === '') {
      rejected.push({ index, error: `${LABEL_FIELD[type]} is missing` });
      continue;
    }
    let got: unknown;
    try {
      got = predictor.predict(ex.input)[field];
    } catch (err) {
      rejected.push({ index, error: rejectionReason(err) });
      continue;
    } finally {
      await pacer.tick();
    }
    if (typeof got !== 'string') {
      rejected.push({ index, error: `prediction failed: the ${type} prediction has no string ${field}` });
      continue;
    }
    truth.push(ex.label);
    predicted.push(got);
  }
  return { figures: classificationFigures(truth, predicted), rejected };
}
