/**
 * Dense training steps on onnxruntime (issue 15, phase 1) against PyTorch, on the voice network (FSDD
 * features, the voice trainer's batch, input noise and Adam) and a 512-256-16 MLP at batch 64 (random
 * inputs and labels: a shape, not a task). The TF.js engine it was first measured against is gone with
 * TF.js; docs/decisions.md keeps those figures.
 *
 * Every engine runs the voice trainer's loop (lib/dense-engine.ts), each stint in a process of its own:
 * DenseStepTrainer (one ONNX graph: forward, backward, Adam) at 1 and 2 intra-op threads, spinning or not.
 * Rounds alternate the engines' order and the table quotes each engine's median round; PyTorch
 * (bench/peers/throughput_torch.py, each thread setting in its own process) runs once per round.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/models/kernels/rng.js';
import { DENSE_ENGINES, type DenseSpec, type EngineRate } from './lib/dense-engine.js';
import { ensurePythonModule } from './lib/python-peer.js';
import type { BenchResult } from './lib/report.js';
import { fmt } from './lib/targets.js';
import { withTempDir } from './lib/temp.js';
import { fsddVoiceData } from './lib/throughput-nets.js';
import { torchRates } from './throughput.bench.js';
import { median } from './lib/stats.js';

const ROUNDS = 5;
/** Each engine's timed stint per round; whole epochs, at least one. */
const STINT_SECONDS = 1.5;
const ENGINE_SCRIPT = fileURLToPath(new URL('./lib/dense-engine.js', import.meta.url));

interface DenseNet extends DenseSpec {
  name: string;
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** Epochs PyTorch times per setting (about STINT_SECONDS at its speed). */
  torchEpochs: number;
}

const bytes = (a: Float32Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function writeArrays(net: DenseNet, dir: string): void {
  writeFileSync(join(dir, 'x.f32'), bytes(net.x));
  writeFileSync(join(dir, 'labels.i32'), bytes(net.y));
}

/** One engine's stint in its own process (lib/dense-engine.ts) on the arrays in `dir`. */
function engineRate(dir: string, engine: string): EngineRate {
  const out = execFileSync(process.execPath, [ENGINE_SCRIPT, dir, engine, String(STINT_SECONDS)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as EngineRate;
}

function voiceNet(): DenseNet {
  const { settings, data } = fsddVoiceData(1);
  const sizes = [data.dim, ...settings.hidden, data.labels.length];
  return { name: `voice MLP ${sizes.join('-')}`, sizes, x: data.train.x, y: data.train.y, n: data.train.n, batch: settings.batchSize, noise: settings.inputNoise, adam: settings.adam, torchEpochs: 8 };
}

function mlp512(): DenseNet {
  const rng = new Rng(3);
  const [n, sizes] = [4096, [512, 256, 16]];
  const x = Float32Array.from({ length: n * sizes[0] }, () => 2 * rng.next() - 1);
  const y = Int32Array.from({ length: n }, () => rng.nextInt(sizes[2]));
  return { name: 'MLP 512-256-16', sizes, x, y, n, batch: 64, noise: 0, adam: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, torchEpochs: 6 };
}

/**
 * PyTorch's rate per thread setting for `net`, one peer run (all settings, each in its own process), and
 * its one-thread rate per CPU-second under CPU_KEY.
 */
async function torchRound(net: DenseNet): Promise<Record<string, number>> {
  const out = await torchRates({
    name: net.name,
    epochs: net.torchEpochs,
    spec: { kind: 'mlp', sizes: net.sizes, noise: net.noise, batch: net.batch, lr: net.adam.learningRate },
    write: (dir) => writeArrays(net, dir),
  });
  const rates = out.networks[net.name];
  const one = rates['1 thread'];
  return { ...Object.fromEntries(out.settings.map((s) => [`PyTorch ${s}`, rates[s].samples_per_second])), [cpuKey('PyTorch 1 thread')]: one.samples / one.cpu_seconds };
}

/** The rates map's key for an engine's samples per CPU-second. */
const cpuKey = (engine: string): string => `${engine} per CPU-s`;

function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${fmt(a / b, 2)}×` : '—';
}

export async function benchOnnxDense(): Promise<BenchResult> {
  const missing = ensurePythonModule('torch', 'python3-torch');
  const rows: BenchResult['rows'] = [];
  const engines = Object.keys(DENSE_ENGINES);
  const cpuNotes: string[] = [];
  for (const net of [voiceNet(), mlp512()]) {
    const rates = new Map<string, number[]>();
    const record = (name: string, r: number) => rates.set(name, [...(rates.get(name) ?? []), r]);
    await withTempDir('onnx-dense', async (dir) => {
      writeArrays(net, dir);
      const spec: DenseSpec = { sizes: net.sizes, batch: net.batch, noise: net.noise, adam: net.adam };
      writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate the order each round so no engine always runs first (or right after PyTorch).
        for (let i = 0; i < engines.length; i++) {
          const engine = engines[(i + round) % engines.length];
          const r = engineRate(dir, engine);
          record(engine, r.samples_per_second);
          record(cpuKey(engine), r.samples_per_cpu_second);
        }
        if (!missing) for (const [k, v] of Object.entries(await torchRound(net))) record(k, v);
        process.stderr.write(`  ${net.name}: round ${round + 1}/${ROUNDS} done\n`);
      }
    });
    const medians = Object.fromEntries([...rates].map(([k, v]) => [k, median(v)]));
    const wall = (k: string) => !k.endsWith(' per CPU-s');
    const torchBest = Math.max(...Object.keys(medians).filter((k) => k.startsWith('PyTorch') && wall(k)).map((k) => medians[k]));
    const ortBest = Math.max(...engines.filter((e) => e.startsWith('ORT')).map((e) => medians[e]));
    const ort1 = rates.get('ORT 1 thread')!;
    const perCpu = Object.keys(medians).filter((k) => !wall(k));
    cpuNotes.push(`${net.name}, samples per CPU-second (medians): ${perCpu.map((k) => `${k.replace(' per CPU-s', '')} ${Math.round(medians[k]).toLocaleString('en-US')}`).join(', ')}`);
    rows.push({
      system: net.name,
      batch: String(net.batch),
      ...Object.fromEntries(Object.entries(medians).filter(([k]) => wall(k))),
      'best ORT / best PyTorch': ratio(ortBest, torchBest),
      'per CPU-s: ORT 1 thread / PyTorch 1 thread': ratio(medians[cpuKey('ORT 1 thread')], medians[cpuKey('PyTorch 1 thread')]),
      'ORT 1 thread min–max': `${Math.round(Math.min(...ort1))}–${Math.round(Math.max(...ort1))}`,
    });
  }
  const notes = [
    `samples/s, median of ${ROUNDS} alternating rounds; each engine's round is a process of its own, one untimed warm-up epoch, then whole epochs for ≥ ${STINT_SECONDS} s, in the voice trainer's loop (shuffle, gather, input noise where the trainer has it, decaying Adam step)`,
    'ORT: DenseStepTrainer, one onnxruntime graph per step (forward, hand-written backward, Adam), parameters and moments fed back as the next step\'s inputs; "spin": idle intra-op threads busy-wait',
    'MLP 512-256-16: 4,096 random rows and labels (throughput only)',
    'per CPU-s: samples per CPU-second of the whole process, one-thread engines only; the comparison a loaded machine disturbs least',
  ];
  notes.push(...cpuNotes);
  notes.push(missing ? `PyTorch not measured: ${missing}` : 'PyTorch: bench/peers/throughput_torch.py on the same arrays, network, batch and noise, once per round, each thread setting in its own process');
  return { title: 'dense training step: onnxruntime step graph vs PyTorch (issue 15, phase 1)', command: 'npm run bench -- onnx-dense', rows, notes };
}
