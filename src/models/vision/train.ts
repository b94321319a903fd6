/**
 * Training state of the vision network on onnxruntime: the whole step — forward, the hand-written
 * backward and Adam over the flat parameter vector — is one ONNX graph (src/models/graph/cnn-graphs.ts),
 * run up to 16 steps at a time in an ONNX Loop over stacked batches (one crossing into onnxruntime for
 * them all); the parameters and Adam's moments go in and come out as its tensors, and each run's outputs
 * are the next run's inputs. JS cuts the first layer's patches, builds the smoothed targets, keeps the step count
 * and the learning-rate schedule (Adam's bias-corrected step size is one float64 number per step, so the
 * checkpoint holds everything a resumed run needs), and sums loss and correct counts from the returned
 * logits against the plain labels, as validation does.
 *
 * The checkpoint layout is the one the TF.js path wrote before: the flat parameters, then Adam's first
 * and second moments, each as long as the parameters.
 */
import * as ort from 'onnxruntime-node';
import type { AdamConstants } from '../graph/adam.js';
import { buildCnnInferenceGraph, buildCnnStepsGraph, firstPatchRows, firstPatchWidth, PatchBuffer, type CnnShape } from '../graph/cnn-graphs.js';
import { floatTensor, openSession } from '../graph/session.js';
import { softmaxCrossEntropy } from '../kernels/dense-step.js';
import { EVAL_BATCH_SIZE } from './cnn.js';
import { PATCH_TABLE_BYTES } from './options.js';
import { adamStepSize, type AdamSettings } from '../kernels/sparse-embedding.js';

/** Running sums over the examples seen since the last reset. */
export interface CnnTotals {
  lossSum: number;
  correct: number;
}

/**
 * `steps` training batches of `size` examples each: batch k is examples `order[start + k·size ..
 * start + (k+1)·size)` of the training images, whose class ids are `labels` (all known).
 */
export interface TrainBatches {
  labels: Int32Array;
  order: ArrayLike<number>;
  start: number;
  size: number;
  steps: number;
  /** ε: targets are (1 − ε)·one-hot + ε/classes. */
  labelSmoothing: number;
}

export class CnnOptimizer {
  private params: ort.Tensor;
  private m: ort.Tensor;
  private v: ort.Tensor;
  private totals: CnnTotals = { lossSum: 0, correct: 0 };
  /** Scratch arrays grown to the largest run seen: a step allocates nothing big. */
  private readonly patches: PatchBuffer;
  /** The training set's patches, cut once (when within `tableBytes`), and the images they came from. */
  private table?: { source: Float32Array; tensor: ort.Tensor };
  private rows = new BigInt64Array(0);
  private targets = new Float32Array(0);
  private y = new Int32Array(0);
  private stepSizes = new Float32Array(0);
  private readonly size: number;

  private constructor(
    readonly shape: CnnShape,
    private readonly adam: AdamConstants,
    private readonly steps: ort.InferenceSession,
    private readonly forward: ort.InferenceSession,
    initial: Float32Array,
    private readonly tableBytes: number,
  ) {
    this.size = initial.length;
    this.patches = new PatchBuffer(shape);
    this.params = floatTensor(initial.slice(), [this.size]);
    this.m = floatTensor(new Float32Array(this.size), [this.size]);
    this.v = floatTensor(new Float32Array(this.size), [this.size]);
  }

  /**
   * Opens the steps and forward sessions for `shape` with `initial` parameters and zero moments. `threads`:
   * onnxruntime's intra-op threads (its GEMMs split their output blocks, never a sum, so any count gives
   * the same bits); `tableBytes`: the largest patch table kept (tests set 0 to cut every run's).
   */
  static async create(shape: CnnShape, initial: Float32Array, adam: AdamConstants, threads: number, tableBytes = PATCH_TABLE_BYTES): Promise<CnnOptimizer> {
    const constants = { beta1: adam.beta1, beta2: adam.beta2, epsilon: adam.epsilon };
    const [steps, forward] = await Promise.all([openSession(buildCnnStepsGraph(shape, constants), { threads }), openSession(buildCnnInferenceGraph(shape), { threads })]);
    return new CnnOptimizer(shape, constants, steps, forward, initial, tableBytes);
  }

  private add(logits: Float32Array, labels: ArrayLike<number>, n: number): void {
    const t = softmaxCrossEntropy(logits, labels, n, this.shape.classes);
    this.totals.lossSum += t.lossSum;
    this.totals.correct += t.correct;
  }

  /** The first layer's patches of examples `order[start..end)` of `data`, as the graphs' input, shaped `dims` (rows last but one). */
  private patchTensor(data: Float32Array, order: ArrayLike<number>, start: number, end: number, dims: readonly number[]): ort.Tensor {
    this.patches.write(data, order, start, end, 0);
    const length = (end - start) * this.patches.perExample;
    return floatTensor(this.patches.data.subarray(0, length), dims);
  }

  /**
   * The first-layer patches of every example of `data`, cut once and kept while `data` is the one trained
   * on; undefined when they would take more than `tableBytes` (each step's are then cut as it runs).
   */
  private patchTable(data: Float32Array): ort.Tensor | undefined {
    if (this.table?.source === data) return this.table.tensor;
    const s = this.shape;
    const count = data.length / (s.height * s.width * s.channels);
    if (count * firstPatchRows(s) * firstPatchWidth(s) * 4 > this.tableBytes) return undefined;
    const cut = new PatchBuffer(s);
    cut.write(data, Uint32Array.from({ length: count }, (_, i) => i), 0, count, 0);
    const tensor = floatTensor(cut.data.subarray(0, count * cut.perExample), [count, firstPatchRows(s), firstPatchWidth(s)]);
    this.table = { source: data, tensor };
    return tensor;
  }

  /**
   * `b.steps` Adam steps in one run, step k (1-based number `first + k`) on the mean cross-entropy of batch
   * k against its smoothed targets, at learning rate `learningRates[k]`: the same bits as that many runs of
   * one step. The loss added to the running sums is against the plain labels, as validation's is.
   */
  async trainSteps(data: Float32Array, b: TrainBatches, adam: AdamSettings, learningRates: ArrayLike<number>, first: number): Promise<void> {
    const { beta1, beta2, epsilon } = this.adam;
    if (adam.beta1 !== beta1 || adam.beta2 !== beta2 || adam.epsilon !== epsilon) throw new RangeError('Adam β1, β2 and ε are fixed in the step graph; only the learning rate may change between steps');
    const { labels, order, start, size: n, steps, labelSmoothing } = b;
    if (!Number.isInteger(steps) || steps < 1 || learningRates.length < steps) throw new RangeError(`need ≥ 1 step and a learning rate for each, got ${steps} steps and ${learningRates.length} rates`);
    const rows = steps * n;
    const classes = this.shape.classes;
    if (this.targets.length < rows * classes) [this.targets, this.y] = [new Float32Array(rows * classes), new Int32Array(rows)];
    if (this.stepSizes.length < steps) this.stepSizes = new Float32Array(steps);
    const targets = this.targets.subarray(0, rows * classes).fill(labelSmoothing / classes);
    const y = this.y.subarray(0, rows);
    for (let i = 0; i < rows; i++) {
      y[i] = labels[order[start + i]];
      targets[i * classes + y[i]] += 1 - labelSmoothing;
    }
    for (let k = 0; k < steps; k++) this.stepSizes[k] = adamStepSize({ ...adam, learningRate: learningRates[k] }, first + k);
    if (this.rows.length < rows) this.rows = new BigInt64Array(rows);
    const picked = this.rows.subarray(0, rows);
    let table = this.patchTable(data);
    if (table) {
      for (let i = 0; i < rows; i++) picked[i] = BigInt(order[start + i]);
    } else {
      // Too many examples to keep cut: this run's alone, in order.
      table = this.patchTensor(data, order, start, start + rows, [rows, firstPatchRows(this.shape), firstPatchWidth(this.shape)]);
      for (let i = 0; i < rows; i++) picked[i] = BigInt(i);
    }
    const out = await this.steps.run({
      patch_table: table,
      rows: new ort.Tensor('int64', picked, [steps, n]),
      targets: floatTensor(targets, [steps, n, classes]),
      step_size: floatTensor(this.stepSizes.subarray(0, steps), [steps]),
      params: this.params,
      m: this.m,
      v: this.v,
    });
    this.params = out.new_params;
    this.m = out.new_m;
    this.v = out.new_v;
    // Summed step by step, as runs of one step summed them.
    const logits = out.logits.data as Float32Array;
    for (let k = 0; k < steps; k++) this.add(logits.subarray(k * n * classes), y.subarray(k * n), n);
  }

  /** Logits [n, classes] of examples `order[start..end)` of `data` under the current parameters. */
  async logits(data: Float32Array, order: ArrayLike<number>, start: number, end: number): Promise<Float32Array> {
    const dims = [firstPatchRows(this.shape) * (end - start), firstPatchWidth(this.shape)];
    const out = await this.forward.run({ patches: this.patchTensor(data, order, start, end, dims), params: this.params }, ['logits']);
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
    this.table = undefined;
    void Promise.all([this.steps.release(), this.forward.release()]);
  }
}
