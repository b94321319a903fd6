/**
 * Trains a model type in this process the way a trainer child does (same modules, same seeded
 * generator), timing only training, and scoring each epoch's model on a test set through an
 * exported version loaded with the type's own loader, as a fresh process would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/training/rng.js';
import { getTrainerModule } from '../../src/training/trainers/index.js';
import type { Example, Predictor, TrainerOptions } from '../../src/training/trainers/types.js';
import type { ModelType } from '../../src/model-types.js';

export interface EpochFigure {
  epoch: number;
  /** Training seconds so far (featurising + epochs), evaluation excluded. */
  seconds: number;
  samplesPerSecond: number;
  score: number;
}

export interface TrainFigures {
  epochs: EpochFigure[];
  initSeconds: number;
  final: EpochFigure;
}

export async function trainAndScore(
  modelType: ModelType,
  data: { train: Example[]; validation: Example[] },
  options: TrainerOptions,
  score: (predictor: Predictor) => number,
): Promise<TrainFigures> {
  const module = getTrainerModule(modelType);
  const trainer = module.createTrainer();
  const rng = new Rng(42);
  const dir = mkdtempSync(join(tmpdir(), 'trinity-bench-model-'));
  try {
    const t0 = performance.now();
    await trainer.init(data.train, data.validation, options, rng);
    const initSeconds = (performance.now() - t0) / 1000;
    let seconds = initSeconds;
    const epochs: EpochFigure[] = [];
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const e0 = performance.now();
      const m = await trainer.runEpoch(epoch, rng, () => false);
      const dt = (performance.now() - e0) / 1000;
      seconds += dt;
      const out = join(dir, `e${epoch}`);
      await import('node:fs').then((fs) => fs.mkdirSync(out));
      await trainer.exportModel(out);
      const predictor = await module.loadPredictor(out);
      epochs.push({ epoch, seconds, samplesPerSecond: m.samples / dt, score: score(predictor) });
      predictor.dispose();
    }
    trainer.dispose();
    return { epochs, initSeconds, final: epochs.at(-1)! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first epoch whose score reaches `target`, if any. */
export function timeTo(figures: TrainFigures, target: number): EpochFigure | undefined {
  return figures.epochs.find((e) => e.score >= target);
}
