/**
 * The dense classifier's training core on onnxruntime: one step graph (forward, backward, Adam) run per
 * batch, its new parameters and moments kept as the next step's inputs. Owners (trainers, the bench) do
 * the batching, the learning-rate schedule and the metrics; this holds the state and runs the graphs.
 *
 * State layout, as the voice and nlu checkpoints keep it: parameters W0, b0, W1, b1, ... (initHeadWeights'
 * order, src/models/kernels/dense-head-weights.ts), then their first moments, then their second
 * moments, each per tensor.
 */
import type * as ort from 'onnxruntime-node';
import type { AdamConstants } from './adam.js';
import { buildDenseInferenceGraph, buildDenseStepGraph, INPUT_GRADIENT, newName, paramNames, paramShapes, stateNames, type DenseGraphOptions } from './dense-graphs.js';
import { floatTensor, openSession, type SessionSettings } from './session.js';

export interface StepResult {
  /** Mean loss over the batch's rows. */
  loss: number;
  /** [n, classes], row-major. */
  logits: Float32Array;
  /** ∂(mean loss)/∂x, [n, in], when the trainer was created with `inputGradient`. */
  inputGradient?: Float32Array;
}

export class DenseStepTrainer {
  private state: ort.Tensor[];
  private readonly names: string[];
  private readonly shapes: number[][];
  private readonly classes: number;
  private targets = new Float32Array(0);

  private constructor(
    readonly sizes: readonly number[],
    private readonly step: ort.InferenceSession,
    private readonly forward: ort.InferenceSession,
    initial: readonly Float32Array[],
  ) {
    this.names = stateNames(sizes);
    const shapes = paramShapes(sizes);
    this.shapes = [...shapes, ...shapes, ...shapes];
    this.classes = sizes[sizes.length - 1];
    this.state = this.shapes.map((s, i) => floatTensor(i < shapes.length ? initial[i].slice() : new Float32Array(s.reduce((a, b) => a * b, 1)), s));
  }

  /**
   * Opens the step and forward sessions for layer sizes `[in, hidden..., out]`, from `initial` weights with
   * zero moments; with `inputGradient`, each step also returns ∂loss/∂x.
   */
  static async create(sizes: readonly number[], initial: readonly Float32Array[], adam: AdamConstants, session: SessionSettings, opts: DenseGraphOptions = {}): Promise<DenseStepTrainer> {
    const shapes = paramShapes(sizes);
    if (initial.length !== shapes.length) throw new RangeError(`expected ${shapes.length} weight arrays, got ${initial.length}`);
    const [step, forward] = await Promise.all([openSession(buildDenseStepGraph(sizes, adam, opts), session), openSession(buildDenseInferenceGraph(sizes), session)]);
    return new DenseStepTrainer(sizes, step, forward, initial);
  }

  private input(x: Float32Array, n: number): ort.Tensor {
    return floatTensor(x.subarray(0, n * this.sizes[0]), [n, this.sizes[0]]);
  }

  /**
   * One step on `n` rows of `x` ([n, in]) with `labels` (−1: no known label, no loss), Adam's
   * bias-corrected step size `stepSize`. Returns the batch's mean loss and its logits (before the update).
   */
  async trainStep(x: Float32Array, n: number, labels: ArrayLike<number>, stepSize: number): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = { x: this.input(x, n), targets: this.oneHot(labels, n), step_size: floatTensor(Float32Array.of(stepSize), []) };
    this.names.forEach((name, i) => (feeds[name] = this.state[i]));
    const out = await this.step.run(feeds);
    this.state = this.names.map((name) => out[newName(name)]);
    const dx = out[INPUT_GRADIENT] as ort.Tensor | undefined;
    return { loss: (out.loss.data as Float32Array)[0], logits: out.logits.data as Float32Array, inputGradient: dx?.data as Float32Array | undefined };
  }

  /** Logits ([n, classes]) of `n` rows of `x` under the current parameters. */
  async logits(x: Float32Array, n: number): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = { x: this.input(x, n) };
    paramNames(this.sizes).forEach((name, i) => (feeds[name] = this.state[i]));
    const out = await this.forward.run(feeds, ['logits']);
    return out.logits.data as Float32Array;
  }

  /** One-hot rows for `labels`; a label −1 gives a zero row. Reuses one buffer. */
  private oneHot(labels: ArrayLike<number>, n: number): ort.Tensor {
    const c = this.classes;
    if (this.targets.length < n * c) this.targets = new Float32Array(n * c);
    const t = this.targets.subarray(0, n * c);
    t.fill(0);
    for (let i = 0; i < n; i++) {
      const y = labels[i];
      if (y >= 0) {
        if (!Number.isInteger(y) || y >= c) throw new RangeError(`label ${y} is not a class of a ${c}-class model`);
        t[i * c + y] = 1;
      }
    }
    return floatTensor(t, [n, c]);
  }

  /** Parameters, first moments, second moments (per tensor, copies): what a checkpoint stores. */
  getState(): Float32Array[] {
    return this.state.map((t) => (t.data as Float32Array).slice());
  }

  /** Copies of the parameters (W0, b0, ...). */
  getWeights(): Float32Array[] {
    return this.state.slice(0, this.shapes.length / 3).map((t) => (t.data as Float32Array).slice());
  }

  /** Restores what getState returned, bit for bit. */
  setState(arrays: readonly Float32Array[]): void {
    if (arrays.length !== this.shapes.length) throw new RangeError(`state has ${arrays.length} arrays, expected ${this.shapes.length}`);
    this.state = this.shapes.map((s, i) => {
      const want = s.reduce((a, b) => a * b, 1);
      if (arrays[i].length !== want) throw new RangeError(`state array ${i} has ${arrays[i].length} values, expected ${want}`);
      return floatTensor(arrays[i].slice(), s);
    });
  }

  async dispose(): Promise<void> {
    await Promise.all([this.step.release(), this.forward.release()]);
  }
}
