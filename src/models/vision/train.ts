/**
 * Training state of the vision network on onnxruntime: the whole step — forward, the hand-written
 * backward and Adam over the flat parameter vector — is one ONNX graph (src/models/graph/cnn-graphs.ts);
 * the parameters and Adam's moments go in and come out as its tensors, and each step's outputs are the
 * next step's inputs. JS cuts the first layer's patches, builds the smoothed targets, keeps the step count
 * and the learning-rate schedule (Adam's bias-corrected step size is one float64 number per step, so the
 * checkpoint holds everything a resumed run needs), and sums loss and correct counts from the returned
 * logits against the plain labels, as validation does.
 *
 * The checkpoint layout is the one the TF.js path wrote before: the flat parameters, then Adam's first
 * and second moments, each as long as the parameters.
 */
import type * as ort from 'onnxruntime-node';
import type { AdamConstants } from '../graph/adam.js';
import { buildCnnInferenceGraph, buildCnnStepGraph, firstLayerPatches, firstPatchRows, firstPatchWidth, type CnnShape } from '../graph/cnn-graphs.js';
import { floatTensor, openSession } from '../graph/session.js';
import { softmaxCrossEntropy } from '../kernels/dense-step.js';
import { EVAL_BATCH_SIZE } from './cnn.js';
import { adamStepSize, type AdamSettings } from '../kernels/sparse-embedding.js';

/** Running sums over the examples seen since the last reset. */
export interface CnnTotals {
  lossSum: number;
  correct: number;
}

/** One training batch: examples `order[start..end)` of the training images, whose class ids are `labels` (all known). */
export interface TrainStep {
  labels: Int32Array;
  order: ArrayLike<number>;
  start: number;
  end: number;
  /** ε: targets are (1 − ε)·one-hot + ε/classes. */
  labelSmoothing: number;
}

export class CnnOptimizer {
  private params: ort.Tensor;
  private m: ort.Tensor;
  private v: ort.Tensor;
  private totals: CnnTotals = { lossSum: 0, correct: 0 };
  /** Scratch arrays grown to the largest batch seen: a step allocates nothing big. */
  private patches = new Float32Array(0);
  private targets = new Float32Array(0);
  private readonly size: number;

  private constructor(
    readonly shape: CnnShape,
    private readonly adam: AdamConstants,
    private readonly step: ort.InferenceSession,
    private readonly forward: ort.InferenceSession,
    initial: Float32Array,
  ) {
    this.size = initial.length;
    this.params = floatTensor(initial.slice(), [this.size]);
    this.m = floatTensor(new Float32Array(this.size), [this.size]);
    this.v = floatTensor(new Float32Array(this.size), [this.size]);
  }

  /**
   * Opens the step and forward sessions for `shape` with `initial` parameters and zero moments. `threads`:
   * onnxruntime's intra-op threads (its GEMMs split their output blocks, never a sum, so any count gives
   * the same bits).
   */
  static async create(shape: CnnShape, initial: Float32Array, adam: AdamConstants, threads: number): Promise<CnnOptimizer> {
    const constants = { beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon };
    const [step, forward] = await Promise.all([openSession(buildCnnStepGraph(shape, constants), { threads }), openSession(buildCnnInferenceGraph(shape), { threads })]);
    return new CnnOptimizer(shape, constants, step, forward, initial);
  }

  private add(logits: Float32Array, labels: ArrayLike<number>, n: number): void {
    const t = softmaxCrossEntropy(logits, labels, n, this.shape.classes);
    this.totals.lossSum += t.lossSum;
    this.totals.correct += t.correct;
  }

  /** The first layer's patches of examples `order[start..end)` of `data`, as the graphs' input. */
  private patchTensor(data: Float32Array, order: ArrayLike<number>, start: number, end: number): ort.Tensor {
    const rows = firstPatchRows(this.shape) * (end - start);
    const width = firstPatchWidth(this.shape);
    if (this.patches.length < rows * width) this.patches = new Float32Array(rows * width);
    const out = this.patches.subarray(0, rows * width);
    firstLayerPatches(this.shape, data, order, start, end, out);
    return floatTensor(out, [rows, width]);
  }

  /**
   * One Adam step `t` (1-based) on the mean cross-entropy of one batch of `data` against its smoothed
   * targets. The loss added to the running sums is against the plain labels, as validation's is.
   */
  async trainStep(data: Float32Array, step: TrainStep, adam: AdamSettings, t: number): Promise<void> {
    const { beta1, beta2, epsilon } = this.adam;
    if (adam.beta1 !== beta1 || adam.beta2 !== beta2 || adam.epsilon !== epsilon) throw new RangeError('Adam β1, β2 and ε are fixed in the step graph; only the learning rate may change between steps');
    const { labels, order, start, end, labelSmoothing } = step;
    const n = end - start;
    const classes = this.shape.classes;
    if (this.targets.length < n * classes) this.targets = new Float32Array(n * classes);
    const targets = this.targets.subarray(0, n * classes).fill(labelSmoothing / classes);
    const y = Int32Array.from({ length: n }, (_, i) => labels[order[start + i]]);
    y.forEach((label, i) => (targets[i * classes + label] += 1 - labelSmoothing));
    const out = await this.step.run({
      patches: this.patchTensor(data, order, start, end),
      targets: floatTensor(targets, [n, classes]),
      step_size: floatTensor(Float32Array.of(adamStepSize(adam, t)), []),
      params: this.params,
      m: this.m,
      v: this.v,
    });
    this.params = out.new_params;
    this.m = out.new_m;
    this.v = out.new_v;
    this.add(out.logits.data as Float32Array, y, n);
  }

  /** Logits [n, classes] of examples `order[start..end)` of `data` under the current parameters. */
  async logits(data: Float32Array, order: ArrayLike<number>, start: number, end: number): Promise<Float32Array> {
    const out = await this.forward.run({ patches: this.patchTensor(data, order, start, end), params: this.params }, ['logits']);
    return out.logits.data as Float32Array;
  }

  /** Accumulates loss and correct count of `count` examples without training; label -1 counts wrong and adds no loss. */
  async evaluate(data: Float32Array, labels: Int32Array, count: number): Promise<void> {
    const order = Uint32Array.from({ length: count }, (_, i) => i);
    for (let start = 0; start < count; start += EVAL_BATCH_SIZE) {
      const end = Math.min(start + EVAL_BATCH_SIZE, count);
      this.add(await this.logits(data, order, start, end), labels.subarray(start, end), end - start);
    }
  }

  /** The running sums, which start again from zero. */
  takeTotals(): CnnTotals {
    const t = this.totals;
    this.totals = { lossSum: 0, correct: 0 };
    return t;
  }

  /** A copy of the parameters. */
  getParams(): Float32Array {
    return (this.params.data as Float32Array).slice();
  }

  /** Copies of Adam's first and second moments. */
  getMoments(): { m: Float32Array; v: Float32Array } {
    return { m: (this.m.data as Float32Array).slice(), v: (this.v.data as Float32Array).slice() };
  }

  /** Restores parameters and moments a checkpoint held, bit for bit. */
  setState(params: Float32Array, m: Float32Array, v: Float32Array): void {
    for (const [name, a] of [['parameters', params], ['first moments', m], ['second moments', v]] as const) {
      if (a.length !== this.size) throw new RangeError(`cnn ${name} have ${a.length} values, expected ${this.size}`);
    }
    this.params = floatTensor(params.slice(), [this.size]);
    this.m = floatTensor(m.slice(), [this.size]);
    this.v = floatTensor(v.slice(), [this.size]);
  }

  /** Releases the onnxruntime sessions (in the background: nothing waits on them). */
  dispose(): void {
    void Promise.all([this.step.release(), this.forward.release()]);
  }
}
