/**
 * The soak run: one cluster of real processes, a seeded crash matrix over it, mixed load, then the
 * disk-full case and `up` killed, and every count next to its target. Used by `npm run soak` and,
 * shortened, by test/soak/soak-quick.test.ts.
 */
import { rmSync } from 'node:fs';
import { Traffic } from './background.js';
import { Cluster, SERVICES } from './cluster.js';
import { createContext } from './context.js';
import { crashRun, type CrashRun } from './crash-matrix.js';
import { runDiskFull, type DiskFullResult } from './disk-full.js';
import { postBatch } from './experiences.js';
import { idleP99, runLoad, type LoadResult } from './load.js';
import { LATENCY_APIS } from './probe-process.js';
import { zeroRow, type Row } from './report.js';
import { settle, type SettledState } from './settle.js';
import { upKillRun, type UpKillRun } from './up-kill.js';

export interface SoakOptions {
  seed: number;
  /** SIGKILLs per service. */
  runs: number;
  /** Seconds of mixed load. */
  loadSeconds: number;
  /** Runs of `trinity up` killed with SIGKILL. */
  upRuns: number;
  /** Requests per API for the idle p99. */
  idleRequests: number;
  /** How long the end state may take to settle. */
  settleSeconds: number;
  log: (line: string) => void;
}

export const FULL_OPTIONS = { runs: 50, loadSeconds: 600, upRuns: 5, idleRequests: 200, settleSeconds: 180 } as const;
export const QUICK_OPTIONS = { runs: 2, loadSeconds: 12, upRuns: 1, idleRequests: 60, settleSeconds: 60 } as const;

/** Targets (issue 14). */
export const MAX_RSS_GROWTH = 0.1;
export const MAX_P99_FACTOR = 3;

/** Settings that make a small cluster move fast: checkpoints every epoch, quick flushes, ticks and retries. */
const FAST_ENV: Record<string, string> = {
  AUTO_TRAINING_ENABLED: 'false',
  CHECKPOINT_INTERVAL_EPOCHS: '1',
  EXPERIENCE_FLUSH_INTERVAL: '1',
  EXPERIENCE_BATCH_SIZE: '50',
  EXPERIENCE_RECONCILE_INTERVAL: '2',
  STATE_FILE_INTERVAL: '1',
  PRIME_RECONCILE_INTERVAL: '1',
  DEPLOYMENT_TICK_MS: '250',
  RESOURCE_CHECK_INTERVAL: '1',
  REACTOR_RETRY_DELAY: '0.5',
  REACTOR_BREAKER_HALF_OPEN: '2',
  // JARVIS deploys what it trained as a gradual rollout: steps of seconds, like the soak's own deploys,
  // so one can finish while the soak settles (the default holds each step 300 s).
  ROLLOUT_MONITOR_DURATION_SECONDS: '1',
  AB_TEST_MIN_SAMPLES: '5',
};

export interface SoakResult {
  options: Omit<SoakOptions, 'log'>;
  crashes: CrashRun[];
  settled: SettledState;
  idle: { p99: Record<string, number>; probeLoopDelayP99Ms: number };
  load: LoadResult;
  diskFull: DiskFullResult;
  up: UpKillRun[];
  fiveXx: number;
  fiveXxExamples: string[];
  acknowledged: number;
  rows: Row[];
  seconds: number;
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const t0 = performance.now();
  const { log, seed } = opts;
  const cluster = await Cluster.create(FAST_ENV);
  const ctx = createContext(cluster, seed, log);
  log(`soak seed ${seed}: ${opts.runs} SIGKILLs per service, ${opts.loadSeconds} s of load, home ${cluster.home}`);
  try {
    for (const s of SERVICES) await cluster.start(s);
    // A first model, so prime serves from the start (the registry makes a type's first version stable).
    for (let i = 0; i < 10; i++) await postBatch(ctx.client, ctx.ledger, 'reactor-http', cluster.url('reactor'), ctx.source.batch(100));
    await ctx.actions.startJob(`soak-${seed}-base`, 5);
    await ctx.actions.waitJob(`soak-${seed}-base`, (j) => j.status === 'completed' || j.status === 'failed', 120_000);
    if ((await ctx.actions.predictionsReady(60_000)) === false) throw new Error(`prime serves no nlu model:\n${cluster.output('prime')}`);
    const idle = await idleP99(ctx, opts.idleRequests);
    log(`idle p99: ${LATENCY_APIS.map((a) => `${a} ${idle.p99[a].toFixed(1)} ms`).join(', ')}`);

    log(`crash matrix: ${opts.runs * SERVICES.length} runs`);
    const traffic = new Traffic(ctx, { feedPauseMs: 200, predictPauseMs: 20, predictors: 1, batchSize: 10, feed: true, maxMs: 4 * 3600_000 }).start();
    const crashes: CrashRun[] = [];
    for (let run = 0; run < opts.runs * SERVICES.length; run++) crashes.push(await crashRun(ctx, run, seed));
    await traffic.stop();

    ctx.tally.phase = 'load';
    log(`load: ${opts.loadSeconds} s`);
    const load = await runLoad(ctx, opts.loadSeconds, seed);

    ctx.tally.phase = 'settle';
    log('settling');
    const predictor = new Traffic(ctx, { feedPauseMs: 0, predictPauseMs: 20, predictors: 1, batchSize: 0, feed: false, maxMs: opts.settleSeconds * 1000 }).start();
    const settled = await settle(ctx, opts.settleSeconds * 1000);
    await predictor.stop();
    await cluster.stopAll();

    log('disk full');
    const diskFull = await runDiskFull(seed, opts.settleSeconds * 1000, log);
    const up: UpKillRun[] = [];
    for (let i = 0; i < opts.upRuns; i++) {
      up.push(await upKillRun());
      log(`  up killed: ${up[i].services} processes, ${up[i].survivors} still running 10 s later${up[i].error ? `; ${up[i].error}` : ''}`);
    }

    const result: SoakResult = {
      options: { seed, runs: opts.runs, loadSeconds: opts.loadSeconds, upRuns: opts.upRuns, idleRequests: opts.idleRequests, settleSeconds: opts.settleSeconds },
      crashes,
      settled,
      idle,
      load,
      diskFull,
      up,
      fiveXx: ctx.tally.serverErrorCount,
      fiveXxExamples: ctx.tally.serverErrors.map((e) => `[${e.phase}] ${e.method} ${e.url.replace(/^http:\/\/127\.0\.0\.1:\d+/, '')} → ${e.status} ${e.body.slice(0, 200)}`),
      acknowledged: ctx.ledger.acked.size,
      rows: [],
      seconds: 0,
    };
    result.rows = rowsOf(result);
    result.seconds = Math.round((performance.now() - t0) / 1000);
    return result;
  } finally {
    await cluster.stopAll();
    rmSync(cluster.home, { recursive: true, force: true });
  }
}

function rowsOf(r: SoakResult): Row[] {
  const { settled: s, crashes, load, diskFull: d } = r;
  const rows: Row[] = [
    { figure: 'SIGKILLs (reactor / prime / jarvis)', value: SERVICES.map((svc) => crashes.filter((c) => c.service === svc).length).join(' / '), target: `≥ ${r.options.runs} each`, ok: SERVICES.every((svc) => crashes.filter((c) => c.service === svc).length >= r.options.runs) },
    { figure: 'kills that hit their moment', value: `${crashes.filter((c) => c.hit).length} of ${crashes.length}`, target: '', ok: null },
    zeroRow('services not healthy again after SIGKILL', crashes.filter((c) => c.restartMs === null).length),
    zeroRow('trainer processes outliving their reactor', crashes.reduce((n, c) => n + c.orphans, 0)),
    { figure: 'slowest restart (ms)', value: Math.max(0, ...crashes.map((c) => c.restartMs ?? 0)), target: '', ok: null },
    { figure: 'experiences acknowledged', value: r.acknowledged, target: '', ok: null },
    zeroRow('experiences lost', s.lost),
    zeroRow('experiences stored twice', s.duplicated),
    zeroRow('good files quarantined', s.rejectedFiles.length),
    zeroRow('corrupt or unusable checkpoints / model versions', s.corrupt.length),
    { figure: 'checkpoints / model versions checked', value: `${s.checkpointsChecked} / ${s.modelVersionsChecked}`, target: '', ok: null },
    zeroRow('stuck jobs (reactor and jarvis)', s.stuckJobs.length),
    zeroRow('failed jobs', s.failedJobs.length),
    zeroRow('stuck deployments', s.stuckDeployments.length),
    zeroRow('files or outbox rows never ingested', s.pendingFiles),
    zeroRow('5xx answers (not 503 + Retry-After)', r.fiveXx),
  ];
  for (const api of LATENCY_APIS) {
    const idle = r.idle.p99[api];
    const factor = load.p99[api] / idle;
    rows.push({ figure: `p99 ${api} (ms): idle ${idle.toFixed(1)}, load ${load.p99[api].toFixed(1)}`, value: `${factor.toFixed(2)}×`, target: `≤ ${MAX_P99_FACTOR}×`, ok: factor <= MAX_P99_FACTOR });
  }
  rows.push({ figure: 'requests timed per API under load (idle: each)', value: `${load.samples} (${r.options.idleRequests})`, target: '', ok: null });
  rows.push({ figure: "p99 event-loop delay of the latency probe's process, idle / load (ms)", value: `${r.idle.probeLoopDelayP99Ms.toFixed(1)} / ${load.probeLoopDelayP99Ms.toFixed(1)}`, target: '', ok: null });
  for (const m of load.memory) {
    rows.push({ figure: `RSS ${m.service}, peak of each half after warm-up (MB): ${m.rssFirstMb.toFixed(0)} → ${m.rssSecondMb.toFixed(0)}`, value: `${(m.rssGrowth * 100).toFixed(1)} %`, target: `≤ ${MAX_RSS_GROWTH * 100} %`, ok: m.rssGrowth <= MAX_RSS_GROWTH });
    if (m.heapFirstMb !== null && m.heapSecondMb !== null) rows.push({ figure: `heap ${m.service}, peak of each half (MB)`, value: `${m.heapFirstMb.toFixed(0)} → ${m.heapSecondMb.toFixed(0)}`, target: '', ok: null });
  }
  if (d.skipped) rows.push({ figure: 'disk full', value: `skipped: ${d.skipped}`, target: 'run', ok: false });
  else {
    rows.push(zeroRow('disk full: services that exited', d.exits.length));
    rows.push({ figure: 'disk full: writes refused while full', value: d.refused, target: '', ok: null });
    rows.push(zeroRow('disk full: 5xx answers (not 503/507)', d.fiveXx));
    rows.push(zeroRow('disk full: experiences lost', d.settled?.lost ?? -1));
    rows.push(zeroRow('disk full: experiences stored twice', d.settled?.duplicated ?? -1));
    rows.push(zeroRow('disk full: corrupt checkpoints / versions', d.settled?.corrupt.length ?? -1));
    rows.push({ figure: 'disk full: healthy and settled after space freed', value: d.recovered ? 'yes' : 'no', target: 'yes', ok: d.recovered });
  }
  rows.push(zeroRow(`services outliving a SIGKILLed \`trinity up\` (${r.up.length} runs)`, r.up.reduce((n, u) => n + u.survivors + (u.error ? 1 : 0), 0)));
  return rows;
}
