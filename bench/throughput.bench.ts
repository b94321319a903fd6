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
import { median } from './lib/stats.js';

/** Issue 15's targets against the fastest PyTorch setting: the dense networks 1.5×, the sparse n-gram tables 1.2×. */
const TARGET_RATIO: Record<string, number> = { voice: 1.5, vision: 1.5, nlu: 1.2, embedding: 1.2 };
/** Rounds per network, Trinity and PyTorch alternating (which goes first alternates too); medians are quoted. */
const ROUNDS = 3;

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
  const ratios: { type: string; ratio: number; target: number }[] = [];
  const shares: string[] = [];
  let version = '';
  let settings: string[] = [];
  for (const build of builders) {
    const net = build();
    const ours: Rate[] = [];
    const theirs: TorchOut[] = [];
    // The machine is shared and noisy: alternate the two sides round by round, and quote medians.
    for (let round = 0; round < ROUNDS; round++) {
      const trinityFirst = round % 2 === 0;
      if (trinityFirst) ours.push(await trinityRate(net));
      if (!missing) theirs.push(await torchRates(net));
      if (!trinityFirst) ours.push(await trinityRate(net));
    }
    version = theirs[0]?.torch ?? version;
    settings = theirs[0]?.settings ?? settings;
    const oursRate = median(ours.map((t) => t.samples_per_second));
    const oursPerCpu = median(ours.map((t) => t.samples / t.cpu_seconds));
    shares.push(`${net.modelType} ${Math.round(100 * median(ours.map((t) => t.cpu_seconds / t.seconds)))} %`);
    const rateOf = (out: TorchOut, setting: string): number => out.networks[net.name]?.[setting]?.samples_per_second ?? NaN;
    const rates = Object.fromEntries(settings.map((st) => [`PyTorch ${st}`, median(theirs.map((o) => rateOf(o, st)))]));
    // Per round: Trinity against the fastest PyTorch setting of the round next to it.
    const roundRatios = ours.map((t, i) => (theirs[i] ? t.samples_per_second / Math.max(...settings.map((st) => rateOf(theirs[i], st))) : NaN));
    const ratio = median(roundRatios);
    // Both single-threaded, per CPU-second: the comparison a loaded machine disturbs least.
    const onePerCpu = median(theirs.map((o) => {
      const one = o.networks[net.name]?.['1 thread'];
      return one ? one.samples / one.cpu_seconds : NaN;
    }));
    const cpuRatio = oursPerCpu / onePerCpu;
    const target = TARGET_RATIO[net.modelType] ?? 1;
    ratios.push({ type: net.modelType, ratio, target });
    rows.push({
      system: net.name,
      batch: String(net.batchSize),
      'samples (timed, per round)': ours[0]?.samples ?? 0,
      'Trinity samples/s': oursRate,
      ...rates,
      'Trinity / fastest PyTorch, per round': roundRatios.every(Number.isFinite) ? roundRatios.map((r) => `${fmt(r, 2)}×`).join(' ') : '—',
      'median ratio': Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : '—',
      'per CPU-s vs 1 thread': Number.isFinite(cpuRatio) ? `${fmt(cpuRatio, 2)}×` : '—',
      target: `${target.toFixed(1)}×`,
      met: Number.isFinite(ratio) ? metCell(ratio >= target) : '—',
    });
  }

  const notes = [
    "Trinity: the trainer's runEpoch; every type runs its step as one onnxruntime graph on 1 intra-op thread (nlu, embedding and voice the dense step, vision the whole CNN: src/models/graph), nlu's and embedding's n-gram tables in JS; one warm-up epoch untimed",
    `${ROUNDS} rounds per network, Trinity and PyTorch alternating (the first side alternates too); samples/s and ratios are medians over the rounds`,
    `Trinity's CPU share of wall time while timed, median (below 100 % = the machine was contended): ${shares.join(', ')}`,
    'real data for all four (SNIPS train bags, STS-B train pairs, FSDD pooled MFCC statistics, optdigits pixels); Adam everywhere (nlu and embedding tables: Trinity a lazy row-wise step, PyTorch SparseAdam)',
  ];
  if (missing) notes.push(`peer not measured: ${missing}`);
  else {
    notes.push(
      `PyTorch ${version}: each thread setting in its own process, a few warm-up steps, then the same epochs cut at 10 s; the ratio is against the fastest setting (under load libgomp's spinning workers make plain 2 threads slower than 1; see throughput_torch.py)`,
    );
  }
  return {
    title: 'training throughput: same network, same batch size, same data (targets: voice, vision ≥ 1.5×, nlu, embedding ≥ 1.2× the fastest PyTorch CPU setting)',
    command: 'npm run bench -- throughput',
    rows,
    notes,
    targets: [
      {
        type: 'all',
        data: 'same network, same batch size',
        quality: '—',
        speed: ratios.map((r) => `${r.type} ${Number.isFinite(r.ratio) ? fmt(r.ratio, 2) : '—'}× (≥ ${r.target.toFixed(1)}×)`).join(', ') + ' PyTorch, medians',
        met: ratios.every((r) => r.ratio >= r.target),
      },
    ],
  };
}
