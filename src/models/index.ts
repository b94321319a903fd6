/**
 * The trainer registry: model type → trainer module. Each model type plugs in here in the same shape
 * (voice, vision and embedding join nlu as they are built); the job runner looks modules up only here.
 */
import { TrainingUnknownModelType } from '../errors.js';
import type { ModelType } from '../model-types.js';
import { embeddingTrainerModule } from './embedding/trainer.js';
import { nluTrainerModule } from './nlu/trainer.js';
import type { TrainerModule } from './types.js';
import { visionTrainerModule } from './vision/trainer.js';
import { voiceTrainerModule } from './voice/trainer.js';

const MODULES: Readonly<Partial<Record<ModelType, TrainerModule>>> = Object.freeze({
  embedding: embeddingTrainerModule,
  nlu: nluTrainerModule,
  vision: visionTrainerModule,
  voice: voiceTrainerModule,
});

/** The model types that have a trainer, in a stable order. */
export function builtModelTypes(): ModelType[] {
  return (Object.keys(MODULES) as ModelType[]).sort();
}

/** The trainer module for `modelType`; TrainingUnknownModelType (400) naming the built ones otherwise. */
export function getTrainerModule(modelType: ModelType): TrainerModule {
  const module = Object.hasOwn(MODULES, modelType) ? MODULES[modelType] : undefined;
  if (!module) throw TrainingUnknownModelType(modelType, builtModelTypes().join(', '));
  return module;
}

export type { EpochMetrics, Example, ModelTrainer, Predictor, TrainerModule, TrainerOptions } from './types.js';
