/** The extractor of each built-in model type. */
import type { ModelType } from '../../model-types.js';
import type { Extractor } from './common.js';
import { embeddingExtractor } from './embedding.js';
import { nluExtractor } from './nlu.js';
import { visionExtractor } from './vision.js';
import { voiceExtractor } from './voice.js';

export const EXTRACTORS: Readonly<Record<ModelType, Extractor>> = Object.freeze({
  nlu: nluExtractor,
  voice: voiceExtractor,
  vision: visionExtractor,
  embedding: embeddingExtractor,
});

export type { Extraction, Extractor, LabelLookup, FoundLabel } from './common.js';
export { isJsonObject, describe } from './common.js';
