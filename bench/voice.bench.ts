/**
 * voice on FSDD: speaker identification from the raw WAV clips. Trinity's whole job (decoding and MFCC
 * features in TypeScript, training, export) against scikit-learn's MFCC-13 mean+std + RBF SVM fitted on the
 * very same training clips in the same run; both scored on one speaker-stratified held-out part.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FSDD_DIR, FSDD_HELD_OUT_RULE, fsddBase64, fsddHeldOut, fsddRows } from './lib/fsdd.js';
import { jobData } from './lib/job-data.js';
import { ensurePythonModule, runPythonPeer } from './lib/python-peer.js';
import type { BenchResult } from './lib/report.js';
import { fmt, metCell, secs } from './lib/targets.js';
import { csvLine, withTempDir } from './lib/temp.js';
import { trainAndScore } from './lib/train.js';

/** The epochs voice.ts's own figures were measured with (the trainer has no default: a job always says). */
const EPOCHS = 10;
const TARGET = { accuracy: 0.98, jobSeconds: 60 };

interface Peer {
  accuracy: number;
  feature_seconds: number;
  fit_seconds: number;
  job_seconds: number;
  samples_per_second: number;
  C: number;
  train: number;
}

export async function benchVoice(epochs = EPOCHS): Promise<BenchResult> {
  const rows = fsddRows();
  const heldOut = rows.filter(fsddHeldOut);
  // Experience ids are the file names, so the peer can be handed exactly the clips Trinity trained on.
  const raw = rows.filter((r) => !fsddHeldOut(r)).map((r) => ({ id: r.file, model_type: 'voice', input: { audio: fsddBase64(r.file) }, expected_output: { user: r.speaker } }));
  const data = jobData(raw, 'voice');
  const test = heldOut.map((r) => ({ audio: fsddBase64(r.file), speaker: r.speaker }));
  const figures = await trainAndScore(
    'voice',
    data,
    { epochs },
    (p) => test.filter((t) => p.predict({ audio: t.audio }).user === t.speaker).length / test.length,
    'last-epoch',
  );
  const job = figures.final.seconds + figures.exportSeconds;
  const accuracy = figures.final.score;

  const notes = [
    `split: ${data.train.length} train + ${data.validation.length} validation clips (the job's id-hash split; validation calibrates the accept threshold), ${test.length} held out (${FSDD_HELD_OUT_RULE})`,
    `Trinity job = decode + MFCC features ${secs(figures.initSeconds)} + ${epochs} epochs + export ${secs(figures.exportSeconds)}; samples/s is the last epoch's (on ${data.train.length} clips an epoch is a few steps and its fixed costs weigh; \`npm run bench -- throughput\` times the training step); validation accuracy by epoch ${figures.epochs.map((e) => fmt(e.metrics.val_accuracy)).join(' ')}`,
  ];
  let peer: Peer | undefined;
  const missing = ensurePythonModule('sklearn', 'python3-sklearn');
  if (missing) notes.push(`peer not measured: ${missing}`);
  else {
    peer = await withTempDir('voice', (dir) => {
      const list = join(dir, 'clips.csv');
      const trained = new Set(data.train.map((e) => e.id));
      const lines = [csvLine(['file', 'speaker', 'part'])];
      for (const r of rows) {
        if (trained.has(r.file)) lines.push(csvLine([r.file, r.speaker, 'train']));
        else if (fsddHeldOut(r)) lines.push(csvLine([r.file, r.speaker, 'test']));
      }
      writeFileSync(list, lines.join(''));
      return runPythonPeer<Peer>('voice_mfcc_svm.py', [`${FSDD_DIR}/recordings`, list]);
    });
    notes.push(`peer: the same ${peer.train} training clips; job = read + MFCC ${secs(peer.feature_seconds)} + 5-fold choice of C (${peer.C}) and fit ${secs(peer.fit_seconds)}; samples/s = clips / job seconds`);
  }

  const met = accuracy >= TARGET.accuracy && job <= TARGET.jobSeconds;
  const rowsOut: BenchResult['rows'] = [
    {
      system: 'Trinity voice (MFCC stats + MLP, onnxruntime)',
      'held-out accuracy': accuracy,
      'job seconds': job,
      'samples/s': figures.final.samplesPerSecond,
      target: `≥ ${TARGET.accuracy}, ≤ ${TARGET.jobSeconds} s`,
      met: metCell(met),
    },
  ];
  if (peer) {
    rowsOut.push({ system: 'scikit-learn MFCC-13 mean+std + RBF SVM', 'held-out accuracy': peer.accuracy, 'job seconds': peer.job_seconds, 'samples/s': peer.samples_per_second });
  }
  return {
    title: `voice: FSDD speaker id (6 speakers, ${data.train.length} train clips, ${test.length} held out), ${epochs} epochs`,
    command: 'npm run bench -- voice',
    rows: rowsOut,
    notes,
    targets: [
      {
        type: 'voice',
        data: 'voice-fsdd, speaker-stratified held-out part',
        quality: `${fmt(accuracy)} (≥ ${TARGET.accuracy}; MFCC + SVM ${peer ? fmt(peer.accuracy) : '—'})`,
        speed: `job ${secs(job)} (≤ ${TARGET.jobSeconds} s; MFCC + SVM ${peer ? secs(peer.job_seconds) : '—'})`,
        met,
      },
    ],
  };
}
