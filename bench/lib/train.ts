/**
 * Trains a model type in this process the way a trainer child does (same modules, same seeded
 * generator), timing only training, and scoring each epoch's model (or only the last one) on a test set through an
 * exported version loaded with the type's own loader, as a fresh process would.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/models/kernels/rng.js';
import { getTrainerModule } from '../../src/models/index.js';
import type { EpochMetrics, Example, Predictor, TrainerOptions } from '../../src/models/types.js';
import type { ModelType } from '../../src/model-types.js';

export interface EpochFigure {
  epoch: number;
  /** Training seconds so far (featurising + epochs), evaluation excluded. */
  seconds: number;
  samplesPerSecond: number;
  /** NaN for an epoch that was not scored (see ScoreWhen). */
  score: number;
  /** What the trainer itself reported for the epoch (its validation split). */
  metrics: EpochMetrics;
}

export interface TrainFigures {
  epochs: EpochFigure[];
  initSeconds: number;
  /** Writing the last epoch's export: the end of a real job. */
  exportSeconds: number;
  final: EpochFigure;
}

/**
 * `every-epoch` exports and scores each epoch (for time-to-accuracy); `last-epoch` only the final one,
 * which keeps a bench whose target is the whole job from spending its time on predictions.
 */
export type ScoreWhen = 'every-epoch' | 'last-epoch';

export async function trainAndScore(
  modelType: ModelType,
  data: { train: Example[]; validation: Example[] },
  options: TrainerOptions,
  score: (predictor: Predictor) => number,
  when: ScoreWhen = 'every-epoch',
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
    let exportSeconds = NaN;
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const e0 = performance.now();
      const metrics = await trainer.runEpoch(epoch, rng, () => false);
      const dt = (performance.now() - e0) / 1000;
      seconds += dt;
      const figure: EpochFigure = { epoch, seconds, samplesPerSecond: metrics.samples / dt, score: NaN, metrics };
      if (when === 'every-epoch' || epoch === options.epochs) {
        const out = join(dir, `e${epoch}`);
        mkdirSync(out);
        const x0 = performance.now();
        await trainer.exportModel(out);
        exportSeconds = (performance.now() - x0) / 1000;
        const predictor = await module.loadPredictor(out);
        figure.score = score(predictor);
        predictor.dispose();
      }
      epochs.push(figure);
    }
    trainer.dispose();
    return { epochs, initSeconds, exportSeconds, final: epochs.at(-1)! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first epoch whose score reaches `target`, if any. */
export function timeTo(figures: TrainFigures, target: number): EpochFigure | undefined {
  return figures.epochs.find((e) => e.score >= target);
}
