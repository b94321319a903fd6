/**
 * The dense classifier of the voice and nlu trainers on onnxruntime: its whole training step — forward,
 * hand-written backward, Adam — is one ONNX graph (src/models/graph), looped over several stacked batches
 * when the inputs do not depend on the previous step (voice: trainSteps), so several steps are one native
 * call (it replaced a dozen TF.js kernels plus JS loops, with the same state layout and the same running
 * loss/correct totals, so checkpoint formats and metrics did not change). The totals are computed in JS
 * from each step's logits (dense-step.ts).
 *
 * Steps are async (onnxruntime runs a session off the JS thread); the trainer awaits each.
 */
import type { AdamConstants } from '../graph/adam.js';
import { DenseStepTrainer } from '../graph/dense-trainer.js';
import type { DenseGraphOptions } from '../graph/dense-graphs.js';
import type { SessionSettings } from '../graph/session.js';
import { softmaxCrossEntropy, type BatchTotals } from './dense-step.js';
import { adamStepSize, type AdamSettings } from './sparse-embedding.js';

export class OrtDenseHead {
  private totals: BatchTotals = { lossSum: 0, correct: 0 };
  private readonly classes: number;
  private stepSizes = new Float64Array(0);

  private constructor(
    private readonly core: DenseStepTrainer,
    private readonly adam: AdamConstants,
  ) {
    this.classes = core.sizes[core.sizes.length - 1];
  }

  /**
   * A head for layer sizes `[in, hidden..., out]` from `initial` weights (W0, b0, ...), zero Adam moments;
   * with `inputGradient`, trainStep returns ∂loss/∂x for a learnt input layer (nlu's n-gram table).
   */
  static async create(sizes: readonly number[], initial: readonly Float32Array[], adam: AdamConstants, session: SessionSettings, opts: DenseGraphOptions = {}): Promise<OrtDenseHead> {
    const constants = { beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon };
    return new OrtDenseHead(await DenseStepTrainer.create(sizes, initial, constants, session, opts), constants);
  }

  private add(logits: Float32Array, n: number, labels: Int32Array): void {
    const t = softmaxCrossEntropy(logits, labels, n, this.classes);
    this.totals.lossSum += t.lossSum;
    this.totals.correct += t.correct;
  }

  private checkAdam(adam: AdamSettings): void {
    const { beta1, beta2, epsilon } = this.adam;
    if (adam.beta1 !== beta1 || adam.beta2 !== beta2 || adam.epsilon !== epsilon) throw new RangeError('Adam β1, β2 and ε are fixed in the step graph; only the learning rate may change between steps');
  }

  /**
   * One step on `n` rows of `x` with `labels` (≥ 0): mean cross-entropy, Adam step `t` at
   * `adam.learningRate`. Returns ∂loss/∂x ([n, in]) when the head was created with `inputGradient`.
   */
  async trainStep(x: Float32Array, n: number, labels: Int32Array, adam: AdamSettings, t: number): Promise<Float32Array | undefined> {
    this.checkAdam(adam);
    const { logits, inputGradient } = await this.core.trainStep(x, n, labels, adamStepSize(adam, t));
    this.add(logits, n, labels);
    return inputGradient;
  }

  /**
   * `steps` steps in one run: step k on rows [k·n, (k+1)·n) of `x` and `labels`, Adam step `t + k` at
   * learning rate `learningRates[k]` — the same bits as `steps` calls of trainStep, at one crossing into
   * onnxruntime instead of `steps`. For inputs that do not depend on the previous step (voice's fixed
   * features, not nlu's learnt table).
   */
  async trainSteps(x: Float32Array, steps: number, n: number, labels: Int32Array, adam: AdamSettings, learningRates: ArrayLike<number>, t: number): Promise<void> {
    this.checkAdam(adam);
    if (this.stepSizes.length < steps) this.stepSizes = new Float64Array(steps);
    for (let k = 0; k < steps; k++) this.stepSizes[k] = adamStepSize({ ...adam, learningRate: learningRates[k] }, t + k);
    const { logits } = await this.core.trainSteps(x, steps, n, labels, this.stepSizes);
    const c = this.classes;
    for (let k = 0; k < steps; k++) this.add(logits.subarray(k * n * c, (k + 1) * n * c), n, labels.subarray(k * n, (k + 1) * n));
  }

  /** Accumulates loss and correct count of `n` examples without training (validation); label -1 counts wrong. */
  async evaluate(x: Float32Array, n: number, labels: Int32Array): Promise<void> {
    this.add(await this.core.logits(x, n), n, labels);
  }

  /** The running sums since the last call, then resets them. */
  takeTotals(): BatchTotals {
    const t = this.totals;
    this.totals = { lossSum: 0, correct: 0 };
    return t;
  }

  /** Parameters, then first moments, then second moments, each per tensor (W0, b0, ...) and as a copy. */
  getState(): Float32Array[] {
    return this.core.getState();
  }

  getWeights(): Float32Array[] {
    return this.core.getWeights();
  }

  /** Restores what getState returned, bit for bit. */
  setState(arrays: readonly Float32Array[]): void {
    this.core.setState(arrays);
  }

  /** Releases the onnxruntime sessions (in the background: nothing waits on them). */
  dispose(): void {
    void this.core.dispose();
  }
}
