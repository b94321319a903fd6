/**
 * Raw experiences → the train and validation examples a training job would hand its trainer: through the
 * same normalisation and id-hash split (src/experiences) as the reactor, so the bench trains on what a job
 * trains on, not on a hand-picked slice.
 */
import { examplesFromExperiences, splitExamples } from '../../src/experiences/index.js';
import type { ModelType } from '../../src/model-types.js';
import type { Example } from '../../src/models/types.js';

/** The reactor's default minimum quality; the bench's experiences carry no quality score, so it never bites. */
const MIN_QUALITY = 0.3;

export interface JobData {
  train: Example[];
  validation: Example[];
}

/** Throws when any experience is rejected or unusable: a bench that silently trains on less would mislead. */
export function jobData(raw: readonly Record<string, unknown>[], modelType: ModelType): JobData {
  const r = examplesFromExperiences(raw, modelType, MIN_QUALITY);
  const lost = r.rejected.length + r.unusable + r.duplicates;
  if (lost > 0) {
    const first = r.rejected[0]?.error ?? r.skipped[0]?.error ?? '';
    throw new Error(`${lost} of ${raw.length} ${modelType} experiences were not usable (first: ${first})`);
  }
  return splitExamples(r.examples);
}
