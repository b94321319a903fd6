/**
 * The dense classifier's training core on onnxruntime: one graph runs K training steps (forward, backward,
 * Adam) over K stacked batches, its new parameters and moments kept as the next run's inputs. Owners
 * (trainers, the bench) do the batching, the learning-rate schedule and the metrics; this holds the state
 * and runs the graphs.
 *
 * The state lives as three flat vectors (parameters, first moments, second moments; paramOffsets' layout).
 * getState/setState speak the layout the voice and nlu checkpoints keep: parameters W0, b0, W1, b1, ...
 * (initHeadWeights' order, src/models/kernels/dense-head-weights.ts), then their first moments, then their
 * second moments, each per tensor.
 */
import type * as ort from 'onnxruntime-node';
import type { AdamConstants } from './adam.js';
import { buildDenseInferenceGraph, buildDenseStepsGraph, FLAT_STATE, INPUT_GRADIENT, newName, paramNames, paramOffsets, paramShapes, type DenseGraphOptions } from './dense-graphs.js';
import { floatTensor, openSession, type SessionSettings } from './session.js';

export interface StepResult {
  /** [steps, n, classes], row-major: each step's logits, before its update. */
  logits: Float32Array;
  /** ∂(mean loss)/∂x, [steps, n, in], when the trainer was created with `inputGradient`. */
  inputGradient?: Float32Array;
}

export class DenseStepTrainer {
  /** params, m, v: flat [P] each. */
  private state: ort.Tensor[];
  private readonly shapes: number[][];
  private readonly offsets: number[];
  private readonly total: number;
  private readonly classes: number;
  private targets = new Float32Array(0);
  private stepSizes = new Float32Array(0);

  private constructor(
    readonly sizes: readonly number[],
    private readonly steps: ort.InferenceSession,
    private readonly forward: ort.InferenceSession,
    initial: readonly Float32Array[],
  ) {
    this.shapes = paramShapes(sizes);
    ({ offsets: this.offsets, total: this.total } = paramOffsets(sizes));
    this.classes = sizes[sizes.length - 1];
    this.state = [this.pack(initial), new Float32Array(this.total), new Float32Array(this.total)].map((a) => floatTensor(a, [this.total]));
  }

  /**
   * Opens the step and forward sessions for layer sizes `[in, hidden..., out]`, from `initial` weights with
   * zero moments; with `inputGradient`, each step also returns ∂loss/∂x.
   */
  static async create(sizes: readonly number[], initial: readonly Float32Array[], adam: AdamConstants, session: SessionSettings, opts: DenseGraphOptions = {}): Promise<DenseStepTrainer> {
    const shapes = paramShapes(sizes);
    if (initial.length !== shapes.length) throw new RangeError(`expected ${shapes.length} weight arrays, got ${initial.length}`);
    const [steps, forward] = await Promise.all([openSession(buildDenseStepsGraph(sizes, adam, opts), session), openSession(buildDenseInferenceGraph(sizes), session)]);
    return new DenseStepTrainer(sizes, steps, forward, initial);
  }

  /** Per-tensor arrays (paramNames order) end to end in one new vector. */
  private pack(arrays: readonly Float32Array[]): Float32Array {
    const flat = new Float32Array(this.total);
    arrays.forEach((a, i) => {
      const want = this.shapes[i].reduce((p, q) => p * q, 1);
      if (a.length !== want) throw new RangeError(`state array ${i} has ${a.length} values, expected ${want}`);
      flat.set(a, this.offsets[i]);
    });
    return flat;
  }

  /** Views (not copies) of each tensor of a flat vector. */
  private views(flat: Float32Array): Float32Array[] {
    return this.shapes.map((s, i) => flat.subarray(this.offsets[i], this.offsets[i] + s.reduce((p, q) => p * q, 1)));
  }

  /**
   * `steps` steps, step k on rows [k·n, (k+1)·n) of `x` ([steps·n, in]) and of `labels` (−1: no known
   * label, no loss), with Adam's bias-corrected step size `stepSizes[k]`. Each step sees the previous one's
   * update, exactly as `steps` separate steps would (the same nodes on the same values).
   */
  async trainSteps(x: Float32Array, steps: number, n: number, labels: ArrayLike<number>, stepSizes: ArrayLike<number>): Promise<StepResult> {
    if (!Number.isInteger(steps) || steps < 1 || stepSizes.length < steps) throw new RangeError(`need ≥ 1 step and a step size for each, got ${steps} steps and ${stepSizes.length} sizes`);
    const dim = this.sizes[0];
    if (this.stepSizes.length < steps) this.stepSizes = new Float32Array(steps);
    for (let k = 0; k < steps; k++) this.stepSizes[k] = stepSizes[k];
    const feeds: Record<string, ort.Tensor> = {
      x: floatTensor(x.subarray(0, steps * n * dim), [steps, n, dim]),
      targets: this.oneHot(labels, steps, n),
      step_size: floatTensor(this.stepSizes.subarray(0, steps), [steps]),
    };
    FLAT_STATE.forEach((name, i) => (feeds[name] = this.state[i]));
    const out = await this.steps.run(feeds);
    this.state = FLAT_STATE.map((name) => out[newName(name)]);
    const dx = out[INPUT_GRADIENT] as ort.Tensor | undefined;
    return { logits: out.logits.data as Float32Array, inputGradient: dx?.data as Float32Array | undefined };
  }

  /** One step on `n` rows of `x` ([n, in]): trainSteps with one step. */
  trainStep(x: Float32Array, n: number, labels: ArrayLike<number>, stepSize: number): Promise<StepResult> {
    return this.trainSteps(x, 1, n, labels, [stepSize]);
  }

  /** Logits ([n, classes]) of `n` rows of `x` under the current parameters. */
  async logits(x: Float32Array, n: number): Promise<Float32Array> {
    const dim = this.sizes[0];
    const feeds: Record<string, ort.Tensor> = { x: floatTensor(x.subarray(0, n * dim), [n, dim]) };
    const params = this.views(this.state[0].data as Float32Array);
    paramNames(this.sizes).forEach((name, i) => (feeds[name] = floatTensor(params[i], this.shapes[i])));
    const out = await this.forward.run(feeds, ['logits']);
    return out.logits.data as Float32Array;
  }

  /** One-hot rows for `steps`·`n` labels; a label −1 gives a zero row. Reuses one buffer. */
  private oneHot(labels: ArrayLike<number>, steps: number, n: number): ort.Tensor {
    const c = this.classes;
    const rows = steps * n;
    if (this.targets.length < rows * c) this.targets = new Float32Array(rows * c);
    const t = this.targets.subarray(0, rows * c);
    t.fill(0);
    for (let i = 0; i < rows; i++) {
      const y = labels[i];
      if (y >= 0) {
        if (!Number.isInteger(y) || y >= c) throw new RangeError(`label ${y} is not a class of a ${c}-class model`);
        t[i * c + y] = 1;
      }
    }
    return floatTensor(t, [steps, n, c]);
  }

  /** Parameters, first moments, second moments (per tensor, copies): what a checkpoint stores. */
  getState(): Float32Array[] {
    return this.state.flatMap((t) => this.views(t.data as Float32Array).map((v) => v.slice()));
  }

  /** Copies of the parameters (W0, b0, ...). */
  getWeights(): Float32Array[] {
    return this.views(this.state[0].data as Float32Array).map((v) => v.slice());
  }

  /** Restores what getState returned, bit for bit. */
  setState(arrays: readonly Float32Array[]): void {
    const per = this.shapes.length;
    if (arrays.length !== 3 * per) throw new RangeError(`state has ${arrays.length} arrays, expected ${3 * per}`);
    this.state = [0, 1, 2].map((j) => floatTensor(this.pack(arrays.slice(j * per, (j + 1) * per)), [this.total]));
  }

  async dispose(): Promise<void> {
    await Promise.all([this.steps.release(), this.forward.release()]);
  }
}
