/**
 * One engine's timed stint on a dense network, in a process of its own (bench/onnx-dense.bench.ts starts
 * it): engines in one process disturb each other (measured: onnxruntime's 1-thread step fell from ~60,000
 * to ~48,000 samples/s once another engine, TF.js's wasm backend then, had run in the same process).
 *
 * Every engine runs the voice trainer's loop around its step (shuffle, gather a batch, add input noise,
 * linearly decaying Adam learning rate), so the figures differ only in the step itself.
 *
 * Usage: node dense-engine.js <dir> <engine> <seconds>; <dir> holds spec.json, x.f32 and labels.i32.
 * Prints an EngineRate as JSON after one untimed warm-up epoch.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DenseStepTrainer } from '../../src/models/graph/dense-trainer.js';
import { Rng } from '../../src/models/kernels/rng.js';
import { initHeadWeights } from '../../src/models/kernels/dense-head-weights.js';
import { linearDecay } from '../../src/models/kernels/schedule.js';
import { adamStepSize, type AdamSettings } from '../../src/models/kernels/sparse-embedding.js';
import { LR_FLOOR } from '../../src/models/voice/options.js';

export interface DenseSpec {
  sizes: number[];
  batch: number;
  noise: number;
  adam: AdamSettings;
}

/** One engine's step: `count` rows of `x` and labels `y`, Adam step `t` at learning rate `lr`. */
type Step = (x: Float32Array, count: number, y: Int32Array, lr: number, t: number) => Promise<void>;

/** Engine name → how to open it on a network. Names are the bench table's column headers. */
export const DENSE_ENGINES: Record<string, (s: DenseSpec) => Promise<Step>> = {
  'ORT 1 thread': (s) => ortStep(s, 1, false),
  'ORT 2 threads': (s) => ortStep(s, 2, false),
  'ORT 2 threads, spin': (s) => ortStep(s, 2, true),
};

async function ortStep(s: DenseSpec, threads: number, spin: boolean): Promise<Step> {
  const trainer = await DenseStepTrainer.create(s.sizes, initHeadWeights(s.sizes, new Rng(1)), s.adam, { threads, spin });
  return async (x, count, y, lr, t) => void (await trainer.trainStep(x, count, y, adamStepSize({ ...s.adam, learningRate: lr }, t)));
}

export interface EngineRate {
  samples_per_second: number;
  /** Samples per CPU-second of the whole process: what a loaded machine disturbs least (one-thread engines). */
  samples_per_cpu_second: number;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Rates of `step` inside the voice trainer's loop, over whole epochs lasting ≥ `seconds`. */
async function rate(s: DenseSpec, x: Float32Array, y: Int32Array, step: Step, seconds: number): Promise<EngineRate> {
  const rng = new Rng(7);
  const dim = s.sizes[0];
  const n = y.length;
  const bx = new Float32Array(s.batch * dim);
  const by = new Int32Array(s.batch);
  const noise = new Float64Array(s.batch * dim);
  const planned = 1000 * Math.ceil(n / s.batch);
  let t = 0;
  const epoch = async (): Promise<void> => {
    const order = rng.shuffle(Uint32Array.from({ length: n }, (_, i) => i)) as Uint32Array;
    for (let start = 0; start < n; start += s.batch) {
      const count = Math.min(s.batch, n - start);
      if (s.noise > 0) rng.fillNormal(noise, count * dim);
      for (let b = 0; b < count; b++) {
        const row = order[start + b] * dim;
        for (let d = 0; d < dim; d++) bx[b * dim + d] = x[row + d] + s.noise * noise[b * dim + d];
        by[b] = y[order[start + b]];
      }
      t += 1;
      await step(bx, count, by, s.adam.learningRate * linearDecay(t, planned, LR_FLOOR), t);
    }
  };
  await epoch();
  let samples = 0;
  const t0 = performance.now();
  const c0 = cpuSeconds();
  do {
    await epoch();
    samples += n;
  } while (performance.now() - t0 < seconds * 1000);
  return { samples_per_second: samples / ((performance.now() - t0) / 1000), samples_per_cpu_second: samples / (cpuSeconds() - c0) };
}

async function main(): Promise<void> {
  const [dir, engine, seconds] = process.argv.slice(2);
  const open = DENSE_ENGINES[engine];
  if (!open) throw new Error(`unknown engine ${engine}; choose from ${Object.keys(DENSE_ENGINES).join(', ')}`);
  const spec = JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')) as DenseSpec;
  const bytes = (name: string) => readFileSync(join(dir, name));
  const xb = bytes('x.f32');
  const yb = bytes('labels.i32');
  const x = new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4);
  const y = new Int32Array(yb.buffer, yb.byteOffset, yb.byteLength / 4);
  const r = await rate(spec, x, y, await open(spec), Number(seconds));
  process.stdout.write(JSON.stringify(r) + '\n');
  // onnxruntime's native threads would keep the process alive a little; the answer is out.
  process.exit(0);
}

if (process.argv[1]?.endsWith('dense-engine.js')) await main();
