/**
 * `npm run soak [-- --seed N --runs N --load-seconds N --quick]`: the seeded crash and load matrix over
 * real `trinity` processes. Prints a table of every figure next to its target and exits 1 on a miss.
 */
import { parseArgs } from 'node:util';
import { Cluster } from './cluster.js';
import { printTable } from './report.js';
import { FULL_OPTIONS, QUICK_OPTIONS, runSoak } from './soak.js';

const USAGE = 'usage: npm run soak -- [--seed N] [--runs N (SIGKILLs per service)] [--load-seconds N] [--up-runs N] [--quick] [--json]';

function positiveInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      seed: { type: 'string' },
      runs: { type: 'string' },
      'load-seconds': { type: 'string' },
      'up-runs': { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
// Interrupted: the services it started must not run on without it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    Cluster.killAll();
    process.exit(130);
  });
}
const base = args.quick ? QUICK_OPTIONS : FULL_OPTIONS;
const seed = positiveInt('seed', args.seed, 1);
const os = await import('node:os');
console.log(`# Trinity soak — node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}`);
const result = await runSoak({
  ...base,
  seed,
  runs: positiveInt('runs', args.runs, base.runs),
  loadSeconds: positiveInt('load-seconds', args['load-seconds'], base.loadSeconds),
  upRuns: positiveInt('up-runs', args['up-runs'], base.upRuns),
  log: (line) => console.log(line),
});
printTable(`Soak, seed ${seed}: ${result.seconds} s`, result.rows, (l) => console.log(l));
const details: [string, string[]][] = [
  ['5xx answers', result.fiveXxExamples],
  ['lost experiences (first few)', result.settled.lostExamples],
  ['corrupt checkpoints / versions', result.settled.corrupt.map((c) => `${c.path}: ${c.problem}`)],
  ['stuck jobs', result.settled.stuckJobs],
  ['failed jobs', result.settled.failedJobs],
  ['stuck deployments', result.settled.stuckDeployments],
  ['quarantined files', result.settled.rejectedFiles],
  ['disk full: exits', result.diskFull.exits],
  ['disk full: 5xx answers', result.diskFull.fiveXxExamples],
  ['disk full: not settled after space was freed', result.diskFull.settled ? [...result.diskFull.settled.stuckJobs, ...result.diskFull.settled.failedJobs, ...result.diskFull.settled.stuckDeployments, ...(result.diskFull.settled.pendingFiles ? [`${result.diskFull.settled.pendingFiles} files or outbox rows not ingested`] : [])] : []],
  ['crash runs with errors', result.crashes.filter((c) => c.error).map((c) => `run ${c.run} ${c.service} ${c.moment}: ${c.error}`)],
];
for (const [title, lines] of details) if (lines.length) console.log(`\n${title}:\n${lines.map((l) => `  ${l}`).join('\n')}`);
if (args.json) console.log(JSON.stringify(result));
process.exit(result.rows.some((r) => r.ok === false) ? 1 : 0);
