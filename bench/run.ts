/**
 * `npm run bench [-- name ...]`: runs the benchmarks (all by default) and prints each table with
 * Trinity's figures next to a peer measured in the same run on the same data.
 */
import { benchIngestion } from './ingestion.bench.js';
import { benchNlu } from './nlu.bench.js';
import { benchPrime } from './prime.bench.js';
import { printResult, type BenchResult } from './lib/report.js';

const BENCHES: Record<string, () => Promise<BenchResult>> = {
  ingestion: benchIngestion,
  nlu: () => benchNlu(),
  prime: benchPrime,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
console.log(`# Trinity benchmarks — node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${new Date().toISOString()}`);
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  const t0 = performance.now();
  printResult(await BENCHES[name]());
  console.log(`  (${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
