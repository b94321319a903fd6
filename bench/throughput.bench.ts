/**
 * Training throughput, "same network, same batch size": each dense or convolutional network Trinity
 * trains, through its real trainer (runEpoch: batching, JS-side work, onnxruntime steps), next to
 * the same architecture in PyTorch CPU on the same data and batch size for the same number of samples. The
 * embedding encoder's default has no dense layer: its row is the sparse n-gram table and the loss.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/models/kernels/rng.js';
import { getTrainerModule } from '../src/models/index.js';
import { ensurePythonModule, runPythonPeer } from './lib/python-peer.js';
import type { BenchResult } from './lib/report.js';
import { fmt, metCell } from './lib/targets.js';
import { withTempDir } from './lib/temp.js';
import { embeddingNetwork, nluNetwork, visionNetwork, voiceNetwork, type Network } from './lib/throughput-nets.js';

const TARGET_RATIO = 1.0;

interface Rate {
  samples: number;
  seconds: number;
  cpu_seconds: number;
  samples_per_second: number;
}

export interface TorchOut {
  torch: string;
  /** The thread settings measured, e.g. "2 threads", "1 thread" (see throughput_torch.py). */
  settings: string[];
  /** Network name → setting → rate. */
  networks: Record<string, Record<string, Rate>>;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** One untimed warm-up epoch (session and kernel set-up), then `net.epochs` timed ones; no validation split. */
async function trinityRate(net: Network): Promise<Rate> {
  const trainer = getTrainerModule(net.modelType).createTrainer();
  const rng = new Rng(42);
  try {
    await trainer.init(net.examples, [], { epochs: net.epochs + 1, batchSize: net.batchSize }, rng);
    await trainer.runEpoch(1, rng, () => false);
    let samples = 0;
    const t0 = performance.now();
    const c0 = cpuSeconds();
    for (let e = 2; e <= net.epochs + 1; e++) samples += (await trainer.runEpoch(e, rng, () => false)).samples;
    const seconds = (performance.now() - t0) / 1000;
    return { samples, seconds, cpu_seconds: cpuSeconds() - c0, samples_per_second: samples / seconds };
  } finally {
    trainer.dispose();
  }
}

/** PyTorch on the same network and arrays, right after Trinity's run so both see about the same machine load. */
export function torchRates(net: Pick<Network, 'name' | 'epochs' | 'spec' | 'write'>): Promise<TorchOut> {
  return withTempDir('throughput', (dir) => {
    const data = join(dir, 'data');
    mkdirSync(data);
    net.write(data);
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ networks: [{ ...net.spec, name: net.name, dir: data, epochs: net.epochs }] }));
    return runPythonPeer<TorchOut>('throughput_torch.py', [spec]);
  });
}

export async function benchThroughput(): Promise<BenchResult> {
  const missing = ensurePythonModule('torch', 'python3-torch');
  // Epochs chosen so each side runs a few seconds per network: enough steps to average out, short enough
  // to keep the whole `npm run bench` within minutes (voice: 36 epochs of the 600 FSDD clips, 21,600 samples).
  // Networks are built one at a time to bound memory.
  const builders = [() => nluNetwork(2), () => embeddingNetwork(2), () => voiceNetwork(36), () => visionNetwork(3)];
  const rows: BenchResult['rows'] = [];
  const ratios: { type: string; ratio: number }[] = [];
  const shares: string[] = [];
  let version = '';
  for (const build of builders) {
    const net = build();
    const t = await trinityRate(net);
    shares.push(`${net.modelType} ${Math.round((100 * t.cpu_seconds) / t.seconds)} %`);
    const torch = missing ? undefined : await torchRates(net);
    version = torch?.torch ?? version;
    const p = torch?.networks[net.name] ?? {};
    const settings = torch?.settings ?? [];
    const rates = Object.fromEntries(settings.map((s) => [`PyTorch ${s}`, p[s]?.samples_per_second ?? NaN]));
    const ratio = t.samples_per_second / Math.max(...Object.values(rates));
    // Both single-threaded, per CPU-second: the comparison a loaded machine disturbs least.
    const one = p['1 thread'];
    const cpuRatio = one ? t.samples / t.cpu_seconds / (one.samples / one.cpu_seconds) : NaN;
    ratios.push({ type: net.modelType, ratio });
    rows.push({
      system: net.name,
      batch: String(net.batchSize),
      'samples (timed)': t.samples,
      'Trinity samples/s': t.samples_per_second,
      ...rates,
      'Trinity / fastest PyTorch': Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : '—',
      'per CPU-s vs 1 thread': Number.isFinite(cpuRatio) ? `${fmt(cpuRatio, 2)}×` : '—',
      met: Number.isFinite(ratio) ? metCell(ratio >= TARGET_RATIO) : '—',
    });
  }

  const notes = [
    "Trinity: the trainer's runEpoch; every type runs its step as one onnxruntime graph on 1 intra-op thread (nlu, embedding and voice the dense step, vision the whole CNN: src/models/graph), nlu's and embedding's n-gram tables in JS; one warm-up epoch untimed",
    `Trinity's CPU share of wall time while timed (below 100 % = the machine was contended): ${shares.join(', ')}`,
    'real data for all four (SNIPS train bags, STS-B train pairs, FSDD pooled MFCC statistics, optdigits pixels); Adam everywhere (nlu and embedding tables: Trinity a lazy row-wise step, PyTorch SparseAdam)',
  ];
  if (missing) notes.push(`peer not measured: ${missing}`);
  else {
    notes.push(
      `PyTorch ${version}: each thread setting in its own process, a few warm-up steps, then the same epochs cut at 10 s; the ratio is against the fastest setting (under load libgomp's spinning workers make plain 2 threads slower than 1; see throughput_torch.py)`,
    );
  }
  return {
    title: `training throughput: same network, same batch size, same data (target ≥ ${TARGET_RATIO.toFixed(1)}× PyTorch CPU)`,
    command: 'npm run bench -- throughput',
    rows,
    notes,
    targets: [
      {
        type: 'all',
        data: 'same network, same batch size',
        quality: '—',
        speed: ratios.map((r) => `${r.type} ${Number.isFinite(r.ratio) ? fmt(r.ratio, 2) : '—'}×`).join(', ') + ` PyTorch (≥ ${TARGET_RATIO.toFixed(1)}×)`,
        met: ratios.every((r) => r.ratio >= TARGET_RATIO),
      },
    ],
  };
}
