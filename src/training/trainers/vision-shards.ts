/**
 * The vision network's gradient over a batch, computed as two half-batches (shards), the second one on a
 * worker thread when the machine has a second core. TF.js's wasm backend runs one thread in Node and the
 * network's convolutions already run at its matmul speed (~24 GFLOP/s), so the second core is the only
 * way left to go faster. Measured on optdigits (batch 64, 2-core VM): a half-batch costs 0.53 of a whole
 * one alone, but ~30 % more while the other thread computes its half (the two cores share more than
 * their schedulers show), so a step takes 0.6–0.85 of the one-thread time when both cores are free.
 * When they are not, the trainer does not wait for a worker that has not started its shard (whichever
 * thread claims the shard first, by one compare-and-swap, computes it), and when the two threads keep
 * taking turns on one core it leaves the worker idle for a while.
 *
 * The split never depends on the machine: a batch of n is always examples [0, ⌈n/2⌉) and [⌈n/2⌉, n), each
 * shard's gradient is that of its own mean loss, and the two are combined as (n₁·g₁ + n₂·g₂)/n in float64.
 * Both threads run the same wasm and JS on the same numbers, so the result is bit for bit the same whether
 * the second shard ran on the worker or, without one, right after the first on this thread.
 *
 * The threads share memory and nothing is posted per step: the images, the parameters (the trainer's own
 * array) and a small channel with the shard's example ids, labels and gradient live in SharedArrayBuffers,
 * and Atomics.wait/notify hand the step over (microseconds; a postMessage round trip is ~0.1 ms).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { softmaxCrossEntropy, type BatchTotals } from './dense-step.js';
import type { CnnLayout, VisionCnn } from './vision-cnn.js';

/** Slots of the channel's Int32Array. */
const REQUEST = 0;
const DONE = 1;
const COUNT = 2;
const FAILED = 3;
const READY = 4;
/** The last request taken by either thread: whoever swaps it from the request before computes the shard. */
const CLAIM = 5;
/** Slots of the channel's Float64Array. */
const SMOOTHING = 0;
const LOSS = 1;
const CORRECT = 2;
/** Bytes of a worker's error message kept for the trainer. */
const ERROR_BYTES = 1024;
/** A worker that neither answers nor fails within this long is taken as gone. */
const STEP_TIMEOUT_MS = 120_000;
/** Two-thread steps measured at a time to see whether the two threads really ran side by side. */
const PROBE_STEPS = 20;
/**
 * Process CPU time per wall time below which the two threads are taken as sharing one core (the machine is
 * busy): 2 when they run side by side, ~1 when they take turns, and then the split only costs (measured:
 * 0.8 of the one-thread speed).
 */
const MIN_PARALLELISM = 1.3;
/** Steps on one thread after a probe found no second core, before trying two again. */
const BACKOFF_STEPS = 200;

/** The SharedArrayBuffers behind a channel, as handed to the worker. */
export interface ShardBuffers {
  ctrl: SharedArrayBuffer;
  meta: SharedArrayBuffer;
  ids: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  grad: SharedArrayBuffer;
  error: SharedArrayBuffer;
}

/** What the worker is started with. */
export interface ShardWorkerData {
  layout: CnnLayout;
  /** The training images ([count, h, w, c]) and the network's parameters, shared with the trainer. */
  images: Float32Array;
  params: Float32Array;
  channel: ShardBuffers;
}

/** Views of the shared memory between the trainer and its worker; both sides wrap the same buffers. */
export class ShardChannel {
  readonly ctrl: Int32Array;
  readonly meta: Float64Array;
  readonly ids: Uint32Array;
  readonly labels: Int32Array;
  readonly grad: Float32Array;
  readonly error: Uint8Array;

  constructor(readonly buffers: ShardBuffers) {
    this.ctrl = new Int32Array(buffers.ctrl);
    this.meta = new Float64Array(buffers.meta);
    this.ids = new Uint32Array(buffers.ids);
    this.labels = new Int32Array(buffers.labels);
    this.grad = new Float32Array(buffers.grad);
    this.error = new Uint8Array(buffers.error);
  }

  static create(paramCount: number, maxShard: number): ShardChannel {
    return new ShardChannel({
      ctrl: new SharedArrayBuffer(4 * 6),
      meta: new SharedArrayBuffer(3 * 8),
      ids: new SharedArrayBuffer(4 * maxShard),
      labels: new SharedArrayBuffer(4 * maxShard),
      grad: new SharedArrayBuffer(4 * paramCount),
      error: new SharedArrayBuffer(ERROR_BYTES),
    });
  }
}

/**
 * The worker side of one step: the gradient of the mean loss of the channel's shard, with its loss sum and
 * correct count. The trainer runs the very same function when it has no worker.
 */
export function shardGradient(cnn: VisionCnn, images: Float32Array, channel: ShardChannel): void {
  const n = channel.ctrl[COUNT];
  const labels = channel.labels.subarray(0, n);
  let totals: BatchTotals = { lossSum: 0, correct: 0 };
  const smoothing = channel.meta[SMOOTHING];
  cnn.gradient(images, channel.ids, 0, n, (logits, dLogits) => (totals = softmaxCrossEntropy(logits, labels, n, cnn.layout.classes, smoothing, dLogits)), channel.grad);
  channel.meta[LOSS] = totals.lossSum;
  channel.meta[CORRECT] = totals.correct;
}

/** Runs the worker's loop: says it is ready, then waits for a request, computes, answers; a request of -1 ends it. */
export function serveShards(cnn: VisionCnn, images: Float32Array, channel: ShardChannel): void {
  Atomics.store(channel.ctrl, READY, 1);
  let seen = 0;
  for (;;) {
    Atomics.wait(channel.ctrl, REQUEST, seen);
    const request = Atomics.load(channel.ctrl, REQUEST);
    if (request < 0) return;
    seen = request;
    // The trainer computes the shard itself when it is done with its own before this thread woke up.
    if (Atomics.compareExchange(channel.ctrl, CLAIM, request - 1, request) !== request - 1) continue;
    try {
      shardGradient(cnn, images, channel);
    } catch (err) {
      const text = new TextEncoder().encode(err instanceof Error ? (err.stack ?? err.message) : String(err));
      channel.error.fill(0).set(text.subarray(0, ERROR_BYTES));
      Atomics.store(channel.ctrl, FAILED, 1);
    }
    Atomics.store(channel.ctrl, DONE, request);
    Atomics.notify(channel.ctrl, DONE);
  }
}

/** The compiled worker entry; under vitest this file runs from src/, the worker always from dist/. */
function workerEntry(): URL | undefined {
  const here = fileURLToPath(import.meta.url);
  const js = here.endsWith('.ts') ? here.replace(/([/\\])src([/\\])(.*)\.ts$/, '$1dist$2$3.js') : here;
  const entry = join(dirname(js), 'vision-shard-worker.js');
  return existsSync(entry) ? pathToFileURL(entry) : undefined;
}

/** The threads a trainer uses by default: two when the machine has them. */
export function defaultShardThreads(): number {
  return Math.min(2, availableParallelism());
}

/**
 * Planned steps below which a job keeps to one thread: the gradient worker spends ~0.5 s of CPU loading
 * TF.js, more than it saves a job of a few dozen steps (~4 ms each on optdigits).
 */
export const WORKER_MIN_STEPS = 150;

/** The threads a job of `plannedSteps` uses by default: a worker only when it pays for its start. */
export function shardThreadsFor(plannedSteps: number): number {
  return plannedSteps >= WORKER_MIN_STEPS ? defaultShardThreads() : 1;
}

export class ShardedGradient {
  private readonly channel: ShardChannel;
  /** The first shard's gradient and labels. */
  private readonly first: Float32Array;
  private readonly labels: Int32Array;
  private worker?: Worker;
  private requests = 0;
  private closed = false;
  private probe = { steps: 0, cpuMicros: 0, wallMs: 0 };
  private backoff = 0;

  /**
   * A gradient over batches of at most `maxBatch` examples of `images`. With `threads` ≥ 2 it starts a
   * worker thread, which needs `images` and `cnn.params` in SharedArrayBuffers. The worker takes ~0.5 s
   * to load TF.js; until it says it is ready (and for good if it never does) this thread computes both
   * shards, with the same result, so nobody waits for it.
   */
  constructor(
    private readonly cnn: VisionCnn,
    private readonly images: Float32Array,
    maxBatch: number,
    threads: number,
  ) {
    this.channel = ShardChannel.create(cnn.params.length, Math.max(1, Math.floor(maxBatch / 2)));
    this.first = new Float32Array(cnn.params.length);
    this.labels = new Int32Array(Math.ceil(maxBatch / 2));
    if (threads < 2 || maxBatch < 2) return;
    if (!(images.buffer instanceof SharedArrayBuffer) || !(cnn.params.buffer instanceof SharedArrayBuffer)) {
      throw new RangeError('a gradient worker needs the images and the parameters in SharedArrayBuffers');
    }
    // Without a build (tests of the sources before `npm run build`) this thread computes both shards.
    const entry = workerEntry();
    if (!entry) return;
    const data: ShardWorkerData = { layout: cnn.layout, images, params: cnn.params, channel: this.channel.buffers };
    this.worker = new Worker(entry, { workerData: data });
    // Idle between steps, blocked in Atomics.wait: it must not keep the process alive.
    this.worker.unref();
    // A worker that fails to start never sets READY, and one that ends is no longer counted on: this
    // thread then goes on alone. (One that dies in the middle of its shard is waited for up to the timeout.)
    this.worker.on('error', () => undefined);
    this.worker.on('exit', () => Atomics.store(this.channel.ctrl, READY, 0));
  }

  /** Whether the second shard now runs on a worker thread. */
  get threaded(): boolean {
    return this.worker !== undefined && Atomics.load(this.channel.ctrl, READY) === 1;
  }

  /**
   * The gradient of the mean softmax cross-entropy (targets smoothed by ε = `smoothing`) over examples
   * `order[start..end)` into `grad`; returns the batch's loss sum and correct count.
   */
  gradient(order: ArrayLike<number>, labels: Int32Array, start: number, end: number, smoothing: number, grad: Float32Array): BatchTotals {
    const { channel, cnn } = this;
    const n = end - start;
    const mid = start + Math.ceil(n / 2);
    const second = end - mid;
    for (let i = 0; i < second; i++) {
      const id = order[mid + i];
      channel.ids[i] = id;
      channel.labels[i] = labels[id];
    }
    channel.ctrl[COUNT] = second;
    channel.meta[SMOOTHING] = smoothing;
    const threaded = second > 0 && this.threaded && this.backoff === 0;
    if (this.backoff > 0) this.backoff -= 1;
    const cpu0 = threaded ? process.cpuUsage() : undefined;
    const wall0 = performance.now();
    if (threaded) this.request();
    const y = this.labels.subarray(0, mid - start);
    for (let i = 0; i < y.length; i++) y[i] = labels[order[start + i]];
    let first: BatchTotals = { lossSum: 0, correct: 0 };
    cnn.gradient(this.images, order, start, mid, (logits, dLogits) => (first = softmaxCrossEntropy(logits, y, mid - start, cnn.layout.classes, smoothing, dLogits)), this.first);
    if (second === 0) {
      grad.set(this.first);
      return first;
    }
    // A worker that has not started on its shard yet (no free core, say) does not make this thread wait.
    if (threaded && Atomics.compareExchange(channel.ctrl, CLAIM, this.requests - 1, this.requests) !== this.requests - 1) this.waitForWorker();
    else shardGradient(cnn, this.images, channel);
    const a = (mid - start) / n;
    const b = second / n;
    const g2 = channel.grad;
    for (let i = 0; i < grad.length; i++) grad[i] = a * this.first[i] + b * g2[i];
    if (cpu0) this.measure(process.cpuUsage(cpu0), performance.now() - wall0);
    return { lossSum: first.lossSum + channel.meta[LOSS], correct: first.correct + channel.meta[CORRECT] };
  }

  /** Adds a two-thread step to the probe; a probe that finds the threads taking turns pauses the worker. */
  private measure(cpu: NodeJS.CpuUsage, wallMs: number): void {
    const p = this.probe;
    p.steps += 1;
    p.cpuMicros += cpu.user + cpu.system;
    p.wallMs += wallMs;
    if (p.steps < PROBE_STEPS) return;
    if (p.cpuMicros / 1000 < MIN_PARALLELISM * p.wallMs) this.backoff = BACKOFF_STEPS;
    this.probe = { steps: 0, cpuMicros: 0, wallMs: 0 };
  }

  private request(): void {
    this.requests += 1;
    Atomics.store(this.channel.ctrl, REQUEST, this.requests);
    Atomics.notify(this.channel.ctrl, REQUEST);
  }

  private waitForWorker(): void {
    const { ctrl } = this.channel;
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (Atomics.load(ctrl, DONE) !== this.requests) {
      if (Date.now() > deadline) throw new Error(`the vision gradient worker did not answer within ${STEP_TIMEOUT_MS} ms`);
      Atomics.wait(ctrl, DONE, Atomics.load(ctrl, DONE), 1000);
    }
    if (Atomics.load(ctrl, FAILED) === 1) {
      const text = new TextDecoder().decode(this.channel.error.slice()).replace(/\0+$/, '');
      throw new Error(`the vision gradient worker failed: ${text}`);
    }
  }

  /** Stops the worker; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.worker) return;
    Atomics.store(this.channel.ctrl, REQUEST, -1);
    Atomics.notify(this.channel.ctrl, REQUEST);
    void this.worker.terminate();
    this.worker = undefined;
  }
}
