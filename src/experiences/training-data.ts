/**
 * The experience buffer as the training service sees it: a snapshot of the buffer for a model type,
 * inline experiences turned into examples, and the mark a finished training leaves.
 */
import type { ModelType } from '../model-types.js';
import type { ExperienceStore } from '../store/experiences-store.js';
import type { Example } from '../training/trainers/types.js';
import { examplesFromExperiences, splitExamples } from './examples.js';
import type { ItemError } from './types.js';

export interface TrainingData {
  /** Usable rows of the type up to the current max seq; `maxSeq` is what `markTrained` takes afterwards. */
  bufferDataset(modelType: ModelType): { train: Example[]; validation: Example[]; maxSeq: number };
  /** Inline experiences (request body or drop-box file) as examples, with the items refused. */
  inlineDataset(raw: unknown[], modelType: ModelType): { train: Example[]; validation: Example[]; rejected: ItemError[]; unusable: number };
  markTrained(modelType: ModelType, seq: number): void;
}

export function createTrainingData(store: ExperienceStore): TrainingData {
  return {
    bufferDataset(modelType) {
      const maxSeq = store.maxSeq(modelType);
      return { ...store.dataset(modelType, { maxSeq }), maxSeq };
    },
    inlineDataset(raw, modelType) {
      const { examples, rejected, unusable } = examplesFromExperiences(raw, modelType, store.minQuality);
      return { ...splitExamples(examples), rejected, unusable };
    },
    markTrained(modelType, seq) {
      store.markTrained(modelType, seq);
    },
  };
}
