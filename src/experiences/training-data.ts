/**
 * The experience buffer as the training service sees it: a snapshot of the buffer for a model type,
 * inline experiences turned into examples, and the mark a finished training leaves.
 */
import type { ModelType } from '../model-types.js';
import type { ExperienceStore } from './experiences-store.js';
import type { Example } from '../models/types.js';
import { examplesFromExperiences, splitExamples } from './examples.js';
import type { ItemError } from './types.js';
import { Pacer } from '../util/pacer.js';

/** How long reading the buffer may hold reactor's loop before it lets requests in. */
const READ_YIELD_MS = 10;

export interface TrainingData {
  /**
   * Usable rows of the type up to the current max seq; `maxSeq` is what `markTrained` takes afterwards.
   * Read page by page, yielding to the loop: a large buffer takes seconds to read.
   */
  bufferDataset(modelType: ModelType): Promise<{ train: Example[]; validation: Example[]; maxSeq: number }>;
  /** The same snapshot a page at a time, each page read when the consumer asks for it. */
  bufferPages(modelType: ModelType): Promise<{ maxSeq: number; pages: AsyncIterable<{ train: Example[]; validation: Example[] }> }>;
  /** Usable rows of the type in the buffer now: the kept counts, no scan. */
  bufferRows(modelType: ModelType): Promise<number>;
  /** Inline experiences (request body or drop-box file) as examples, with the items refused. */
  inlineDataset(raw: unknown[], modelType: ModelType): { train: Example[]; validation: Example[]; rejected: ItemError[]; unusable: number };
  markTrained(modelType: ModelType, seq: number): Promise<void>;
}

export function createTrainingData(store: ExperienceStore): TrainingData {
  async function* pagesUpTo(modelType: ModelType, maxSeq: number): AsyncGenerator<{ train: Example[]; validation: Example[] }> {
    const pacer = new Pacer(READ_YIELD_MS);
    for (let page = await store.datasetPage(modelType, { maxSeq }); page.rows > 0; page = await store.datasetPage(modelType, { maxSeq, afterSeq: page.lastSeq })) {
      yield { train: page.train, validation: page.validation };
      await pacer.tick();
    }
  }
  return {
    async bufferDataset(modelType) {
      const maxSeq = await store.maxSeq(modelType);
      const out = { train: [] as Example[], validation: [] as Example[], maxSeq };
      for await (const page of pagesUpTo(modelType, maxSeq)) {
        for (const ex of page.train) out.train.push(ex);
        for (const ex of page.validation) out.validation.push(ex);
      }
      return out;
    },
    async bufferPages(modelType) {
      const maxSeq = await store.maxSeq(modelType);
      return { maxSeq, pages: pagesUpTo(modelType, maxSeq) };
    },
    async bufferRows(modelType) {
      return (await store.stats()).types[modelType].usable;
    },
    inlineDataset(raw, modelType) {
      const { examples, rejected, unusable } = examplesFromExperiences(raw, modelType, store.minQuality);
      return { ...splitExamples(examples), rejected, unusable };
    },
    markTrained(modelType, seq) {
      return store.markTrained(modelType, seq);
    },
  };
}
