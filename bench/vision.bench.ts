/**
 * vision on optdigits: Trinity's whole job (reading the pixel inputs, the CNN's epochs, export) on the
 * train file's rows as a job splits them, scored on the test file, next to scikit-learn's RBF SVM fitted on
 * exactly the same training rows in the same run. Targets: issue 3's (≥ 0.97 in ≤ 60 s) and issue 15's
 * (at least the SVC's accuracy in at most its fit time).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VISION_DEFAULTS } from '../src/models/vision/trainer.js';
import { dataPath } from './lib/data.js';
import { jobData } from './lib/job-data.js';
import { readOptdigits } from './lib/optdigits.js';
import { ensurePythonModule, runPythonPeer } from './lib/python-peer.js';
import type { BenchResult } from './lib/report.js';
import { fmt, metCell, secs } from './lib/targets.js';
import { csvLine, withTempDir } from './lib/temp.js';
import { trainAndScore } from './lib/train.js';

const TARGET = { accuracy: 0.97, jobSeconds: 60 };
const SIDE = 8;

interface Peer {
  accuracy: number;
  fit_seconds: number;
  samples_per_second: number;
  C: number;
  train: number;
}

export async function benchVision(epochs: number = VISION_DEFAULTS.epochs): Promise<BenchResult> {
  const trainRows = readOptdigits('train');
  const test = readOptdigits('test');
  const raw = trainRows.map((r, i) => ({ id: `optdigits-train-${i}`, model_type: 'vision', input: { pixels: r.pixels, width: SIDE, height: SIDE }, expected_output: { label: r.label } }));
  const data = jobData(raw, 'vision');
  const figures = await trainAndScore(
    'vision',
    data,
    { epochs },
    (p) => test.filter((t) => p.predict({ pixels: t.pixels, width: SIDE, height: SIDE }).label === t.label).length / test.length,
    'last-epoch',
  );
  const job = figures.final.seconds + figures.exportSeconds;
  const accuracy = figures.final.score;

  const notes = [
    `split: ${data.train.length} train + ${data.validation.length} validation rows of train.csv (the job's id-hash split), scored on all ${test.length} rows of test.csv`,
    `Trinity job = reading inputs ${secs(figures.initSeconds)} + ${epochs} epochs + export ${secs(figures.exportSeconds)}; samples/s is the last epoch's; validation accuracy by epoch ${figures.epochs.map((e) => fmt(e.metrics.val_accuracy)).join(' ')}`,
  ];
  let peer: Peer | undefined;
  const missing = ensurePythonModule('sklearn', 'python3-sklearn');
  if (missing) notes.push(`peer not measured: ${missing}`);
  else {
    peer = await withTempDir('vision', (dir) => {
      const file = join(dir, 'train.csv');
      const lines = [csvLine([...Array.from({ length: SIDE * SIDE }, (_, i) => `px${i}`), 'label'])];
      for (const ex of data.train) lines.push(csvLine([...(ex.input.pixels as number[]), ex.label ?? '']));
      writeFileSync(file, lines.join(''));
      return runPythonPeer<Peer>('vision_svm.py', [file, dataPath('vision-optdigits/test.csv')]);
    });
    notes.push(`peer: the same ${peer.train} training rows; job = 5-fold choice of C (${peer.C}) and fit; samples/s = rows / job seconds`);
  }

  const met = accuracy >= Math.max(TARGET.accuracy, peer?.accuracy ?? -Infinity) && job <= Math.min(TARGET.jobSeconds, peer?.fit_seconds ?? Infinity);
  const peerTarget = peer ? `, ≥ SVC's ${fmt(peer.accuracy)} in ≤ its ${secs(peer.fit_seconds)}` : '';
  const rows: BenchResult['rows'] = [
    {
      system: 'Trinity vision (CNN, onnxruntime)',
      'test accuracy': accuracy,
      'job seconds': job,
      'samples/s': figures.final.samplesPerSecond,
      target: `≥ ${TARGET.accuracy}, ≤ ${TARGET.jobSeconds} s${peerTarget}`,
      met: metCell(met),
    },
  ];
  if (peer) rows.push({ system: 'scikit-learn SVC (RBF)', 'test accuracy': peer.accuracy, 'job seconds': peer.fit_seconds, 'samples/s': peer.samples_per_second });
  return {
    title: `vision: optdigits 8×8 (${data.train.length} train rows, ${test.length} test), ${epochs} epochs`,
    command: 'npm run bench -- vision',
    rows,
    notes,
    targets: [
      {
        type: 'vision',
        data: 'vision-optdigits test',
        quality: `${fmt(accuracy)} (≥ ${TARGET.accuracy} and ≥ SVC's ${peer ? fmt(peer.accuracy) : '—'})`,
        speed: `job ${secs(job)} (≤ ${TARGET.jobSeconds} s and ≤ SVC's ${peer ? secs(peer.fit_seconds) : '—'})`,
        met,
      },
    ],
  };
}
