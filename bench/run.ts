/**
 * `npm run bench [-- name ...]`: runs the benchmarks (all by default) and prints each table with
 * Trinity's figures next to a peer measured in the same run on the same data, then the issue-3 targets
 * table filled with the figures of the benches that ran.
 */
import { benchEmbedding } from './embedding.bench.js';
import { benchIngestion } from './ingestion.bench.js';
import { benchNlu } from './nlu.bench.js';
import { benchOnnxDense } from './onnx-dense.bench.js';
import { benchPrime } from './prime.bench.js';
import { benchScaleout } from './scaleout.bench.js';
import { benchThroughput } from './throughput.bench.js';
import { benchVision } from './vision.bench.js';
import { benchVoice } from './voice.bench.js';
import { printResult, type BenchResult } from './lib/report.js';
import { printTargets, withNluTargets, type TargetRow } from './lib/targets.js';

const BENCHES: Record<string, () => Promise<BenchResult>> = {
  ingestion: benchIngestion,
  nlu: async () => withNluTargets(await benchNlu()),
  voice: () => benchVoice(),
  vision: () => benchVision(),
  embedding: () => benchEmbedding(),
  throughput: benchThroughput,
  prime: benchPrime,
  'onnx-dense': benchOnnxDense,
  scaleout: benchScaleout,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const os = await import('node:os');
// Other processes on the machine skew every figure; the load average says how much to trust them.
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`# Trinity benchmarks — node ${process.version}, ${os.cpus().length} cores, load average ${load()}, ${new Date().toISOString()}`);
const targets: TargetRow[] = [];
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  const t0 = performance.now();
  const result = await BENCHES[name]();
  printResult(result);
  targets.push(...(result.targets ?? []));
  console.log(`  (${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s; load average now ${load()})`);
}
if (targets.length > 0) printTargets(targets);
