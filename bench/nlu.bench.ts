/**
 * nlu on SNIPS: accuracy on the test set, time to train, samples per second, next to scikit-learn's
 * TF-IDF + LinearSVC fitted on the same rows in the same run.
 */
import { examplesFromExperiences, splitExamples } from '../src/experiences/index.js';
import { readCsvRows, dataPath } from './lib/data.js';
import { ensurePythonModule, runPythonPeer } from './lib/python-peer.js';
import type { BenchResult } from './lib/report.js';
import { timeTo, trainAndScore } from './lib/train.js';

export async function benchNlu(epochs = 5): Promise<BenchResult> {
  const train = readCsvRows('nlu-snips/train.csv');
  const test = readCsvRows('nlu-snips/test.csv');
  const raw = train.map(([text, intent], i) => ({ id: `snips-${i}`, type: 'command', input: { text }, expected_output: { intent }, success: true }));
  const { examples } = examplesFromExperiences(raw, 'nlu', 0.3);
  const data = splitExamples(examples);
  const figures = await trainAndScore('nlu', data, { epochs }, (p) => {
    let ok = 0;
    for (const [text, intent] of test) if (p.predict({ text }).intent === intent) ok++;
    return ok / test.length;
  });

  const rows: BenchResult['rows'] = [];
  const notes: string[] = [`Trinity per epoch (test accuracy @ seconds): ${figures.epochs.map((e) => `${e.score.toFixed(3)}@${e.seconds.toFixed(1)}s`).join(', ')}`];
  let peer: { accuracy: number; fit_seconds: number; samples_per_second: number } | undefined;
  const missing = ensurePythonModule('sklearn', 'python3-sklearn');
  if (missing) notes.push(`peer not measured: ${missing}`);
  else peer = runPythonPeer('nlu_linearsvc.py', [dataPath('nlu-snips/train.csv'), dataPath('nlu-snips/test.csv')]);

  const target = 0.985;
  const reached = timeTo(figures, target);
  rows.push({
    system: 'Trinity nlu (TF.js wasm)',
    'test accuracy': figures.final.score,
    'train seconds': figures.final.seconds,
    'samples/s (last epoch)': figures.final.samplesPerSecond,
    [`seconds to ${target}`]: reached ? reached.seconds : 'not reached',
  });
  if (peer) {
    rows.push({
      system: 'scikit-learn TF-IDF + LinearSVC',
      'test accuracy': peer.accuracy,
      'train seconds': peer.fit_seconds,
      'samples/s (last epoch)': peer.samples_per_second,
      [`seconds to ${target}`]: peer.accuracy >= target ? peer.fit_seconds : 'not reached',
    });
  }
  return {
    title: `nlu: SNIPS (${data.train.length} train + ${data.validation.length} validation rows, ${test.length} test), ${epochs} epochs`,
    command: 'npm run bench -- nlu',
    rows,
    notes,
  };
}
