/**
 * embedding on STS-B: Trinity's whole job (n-gram features, contrastive + ranking epochs, export) on the
 * train pairs as a job splits them, scored by Spearman's correlation of cosine with the dev pairs' scores,
 * next to the classic baseline: cosine of character 2–4-gram TF-IDF vectors (scikit-learn) fitted on the
 * same training pairs in the same run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spearman } from '../src/models/kernels/metrics.js';
import { EMBEDDING_DEFAULTS, similarity } from '../src/models/embedding/trainer.js';
import type { Predictor } from '../src/models/types.js';
import { dataPath, readCsvRows } from './lib/data.js';
import { jobData } from './lib/job-data.js';
import { ensurePythonModule, runPythonPeer } from './lib/python-peer.js';
import type { BenchResult } from './lib/report.js';
import { fmt, metCell, secs } from './lib/targets.js';
import { csvLine, withTempDir } from './lib/temp.js';
import { trainAndScore } from './lib/train.js';

const TARGET = { spearman: 0.72, jobSeconds: 120 };

interface Peer {
  spearman: number;
  fit_seconds: number;
  samples_per_second: number;
  train: number;
}

interface Pair {
  a: string;
  b: string;
  score: number;
}

/** pairs_*.csv: genre, source, year, id, sentence1, sentence2, score. */
function readPairs(file: string): Pair[] {
  return readCsvRows(`embedding-stsb/${file}`).map((r) => ({ a: r[4], b: r[5], score: Number(r[6]) }));
}

function devSpearman(p: Predictor, dev: readonly Pair[]): number {
  const embed = (text: string) => p.predict({ text }).embedding as number[];
  return spearman(
    dev.map((d) => similarity(embed(d.a), embed(d.b))),
    dev.map((d) => d.score),
  );
}

export async function benchEmbedding(epochs: number = EMBEDDING_DEFAULTS.epochs): Promise<BenchResult> {
  const train = readPairs('pairs_train.csv');
  const dev = readPairs('pairs_dev.csv');
  const raw = train.map((p, i) => ({ id: `stsb-train-${i}`, model_type: 'embedding', input: { text_a: p.a, text_b: p.b }, expected_output: { score: p.score } }));
  const data = jobData(raw, 'embedding');
  const figures = await trainAndScore('embedding', data, { epochs }, (p) => devSpearman(p, dev), 'last-epoch');
  const job = figures.final.seconds + figures.exportSeconds;
  const rho = figures.final.score;
  const valSpearman = (m: object): number => ('val_spearman' in m && typeof m.val_spearman === 'number' ? m.val_spearman : NaN);

  const notes = [
    `split: ${data.train.length} train + ${data.validation.length} validation pairs of pairs_train.csv (the job's id-hash split), scored on all ${dev.length} pairs of pairs_dev.csv`,
    `Trinity job = n-gram features ${secs(figures.initSeconds)} + ${epochs} epochs + export ${secs(figures.exportSeconds)}; samples/s = training pairs per second, last epoch; validation Spearman by epoch ${figures.epochs.map((e) => fmt(valSpearman(e.metrics))).join(' ')}`,
  ];
  let peer: Peer | undefined;
  const missing = ensurePythonModule('sklearn', 'python3-sklearn');
  if (missing) notes.push(`peer not measured: ${missing}`);
  else {
    peer = await withTempDir('embedding', (dir) => {
      const file = join(dir, 'pairs_train.csv');
      const lines = [csvLine(['sentence1', 'sentence2', 'score'])];
      for (const ex of data.train) lines.push(csvLine([ex.input.text_a as string, ex.input.text_b as string, ex.score ?? NaN]));
      writeFileSync(file, lines.join(''));
      return runPythonPeer<Peer>('embedding_tfidf.py', [file, dataPath('embedding-stsb/pairs_dev.csv')]);
    });
    notes.push(`peer: vocabulary and IDF fitted on the same ${peer.train} training pairs' sentences (scores unused: it is not trained on them); samples/s = pairs / fit seconds`);
  }

  const met = rho >= TARGET.spearman && job <= TARGET.jobSeconds;
  const rows: BenchResult['rows'] = [
    {
      system: 'Trinity embedding (n-gram bag, contrastive)',
      'dev Spearman': rho,
      'job seconds': job,
      'samples/s': figures.final.samplesPerSecond,
      target: `≥ ${TARGET.spearman}, ≤ ${TARGET.jobSeconds} s`,
      met: metCell(met),
    },
  ];
  if (peer) rows.push({ system: 'scikit-learn TF-IDF char 2–4 cosine', 'dev Spearman': peer.spearman, 'job seconds': peer.fit_seconds, 'samples/s': peer.samples_per_second });
  return {
    title: `embedding: STS-B (${data.train.length} train pairs, ${dev.length} dev pairs), ${epochs} epochs`,
    command: 'npm run bench -- embedding',
    rows,
    notes,
    targets: [
      {
        type: 'embedding',
        data: 'embedding-stsb dev',
        quality: `Spearman ${fmt(rho)} (≥ ${TARGET.spearman}; TF-IDF char cosine ${peer ? fmt(peer.spearman) : '—'})`,
        speed: `job ${secs(job)} (≤ ${TARGET.jobSeconds} s)`,
        met,
      },
    ],
  };
}
