/**
 * Disk full: reactor and jarvis run with JARVIS_HOME on a small tmpfs that is then filled. Writes must
 * fail with a clear answer (4xx, 503 with Retry-After or 507), no service may exit, nothing acknowledged
 * may be lost, and once space is freed everything must go on by itself.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, sleep } from './cluster.js';
import { createContext, type SoakContext } from './context.js';
import { dropBatchFile, postBatch } from './experiences.js';
import { settle, type SettledState } from './settle.js';

/** Room for the database, logs and a small model; the filler takes the rest. */
const TMPFS_SIZE = '64m';
/** Seconds of writes against the full disk. */
const FULL_SECONDS = 8;

export interface DiskFullResult {
  skipped: string | null;
  /** Services that exited while the disk was full. */
  exits: string[];
  /** Answers while full: how many writes were refused with 507 / back-pressure. */
  refused: number;
  /** Whether health answered 200 again within the settle time after space was freed. */
  recovered: boolean;
  settled: SettledState | null;
  fiveXx: number;
  fiveXxExamples: string[];
}

function canMountTmpfs(): string | null {
  if (process.platform !== 'linux') return 'needs Linux tmpfs';
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  return null;
}

/** Fills the filesystem at `dir` with one file until ENOSPC, down to 4 KiB writes. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (let chunk = 1 << 20; chunk >= 4096; chunk >>= 1) {
      const buf = Buffer.alloc(chunk, 0x61);
      for (;;) {
        try {
          written += writeSync(fd, buf);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

async function writeWhileFull(ctx: SoakContext, seed: number): Promise<number> {
  let refused = 0;
  const before = ctx.tally.insufficientStorage + ctx.tally.backPressure;
  const deadline = Date.now() + FULL_SECONDS * 1000;
  for (let i = 0; Date.now() < deadline && i < 1000; i++) {
    await Promise.all([
      postBatch(ctx.client, ctx.ledger, 'reactor-http', ctx.cluster.url('reactor'), ctx.source.batch(20), () => Date.now() > deadline),
      postBatch(ctx.client, ctx.ledger, 'jarvis-http', ctx.cluster.url('jarvis'), ctx.source.batch(20), () => Date.now() > deadline),
      // A couple of short jobs: their checkpoints and exports meet the full disk too.
      i % 10 === 0 ? ctx.actions.startJob(`soak-full-${seed}-${i}`, 3) : undefined,
    ]);
    try {
      dropBatchFile(ctx.eventsDir, ctx.ledger, ctx.source.batch(20), 'jsonl');
    } catch {
      refused++; // the harness's own write hit ENOSPC: not acknowledged, not counted
    }
    await sleep(200);
  }
  return refused + ctx.tally.insufficientStorage + ctx.tally.backPressure - before;
}

export async function runDiskFull(seed: number, settleMs: number, log: (line: string) => void): Promise<DiskFullResult> {
  const skipped = canMountTmpfs();
  const empty: DiskFullResult = { skipped, exits: [], refused: 0, recovered: false, settled: null, fiveXx: 0, fiveXxExamples: [] };
  if (skipped) return empty;
  const mount = mkdtempSync(join(tmpdir(), 'trinity-soak-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE},mode=0700`, 'tmpfs', mount]);
  const cluster = await Cluster.create({ JARVIS_PRIME_ENABLED: 'false', AUTO_TRAINING_ENABLED: 'false', EXPERIENCE_FLUSH_INTERVAL: '1', EXPERIENCE_RECONCILE_INTERVAL: '2' }, join(mount, 'home'));
  const ctx = createContext(cluster, seed + 7, log);
  const result = { ...empty };
  try {
    await cluster.start('reactor');
    await cluster.start('jarvis');
    for (let i = 0; i < 5; i++) await postBatch(ctx.client, ctx.ledger, 'reactor-http', cluster.url('reactor'), ctx.source.batch(100));
    const filler = join(mount, 'filler');
    const bytes = fill(filler);
    log(`  disk full: ${(bytes / 1024 / 1024).toFixed(1)} MB filler; writing for ${FULL_SECONDS} s`);
    ctx.tally.diskFull = true;
    ctx.tally.phase = 'disk full';
    result.refused = await writeWhileFull(ctx, seed);
    result.exits = (['reactor', 'jarvis'] as const).filter((s) => !cluster.isRunning(s)).map((s) => `${s}: ${cluster.output(s).split('\n').filter(Boolean).slice(-3).join(' | ')}`);
    rmSync(filler);
    ctx.tally.diskFull = false;
    ctx.tally.phase = 'space freed';
    log(`  disk full: space freed; ${result.exits.length} service(s) exited, ${result.refused} writes refused`);
    // A service that died is restarted, as a supervisor would, so the rest can still be checked.
    for (const s of ['reactor', 'jarvis'] as const) if (!cluster.isRunning(s)) await cluster.start(s).catch(() => undefined);
    result.recovered = (await Promise.all((['reactor', 'jarvis'] as const).map(async (s) => (await ctx.client.get(`${s} health`, `${cluster.url(s)}/api/health`)).status === 200))).every(Boolean);
    result.settled = await settle(ctx, settleMs);
    result.recovered &&= result.settled.settledInMs !== null;
  } finally {
    result.fiveXx = ctx.tally.serverErrorCount;
    result.fiveXxExamples = ctx.tally.serverErrors.map((e) => `[${e.phase}] ${e.method} ${e.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, '')} → ${e.status} ${e.body.slice(0, 160)}`);
    await cluster.stopAll();
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  }
  return result;
}
