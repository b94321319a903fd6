/**
 * The crash matrix: each run picks a service and a moment (seeded), sets that moment up, SIGKILLs the
 * service at a random delay into it, restarts it and checks it comes back healthy and leaves no
 * process behind. Runs rotate over the services, so `runs` is the number of kills per service.
 */
import { existsSync, watch } from 'node:fs';
import { join } from 'node:path';
import { TERMINAL_JOB } from './actions.js';
import { childPids, isAlive, pollUntil, sleep, type ServiceName, SERVICES } from './cluster.js';
import { between, type SoakContext } from './context.js';
import { dropBatchFile, postBatch } from './experiences.js';

export type Moment = 'ingestion' | 'training' | 'checkpoint' | 'rollout' | 'predictions' | 'forwarding' | 'coordinating';

export const MOMENTS: Record<ServiceName, readonly Moment[]> = {
  reactor: ['ingestion', 'training', 'checkpoint', 'rollout'],
  prime: ['predictions', 'rollout'],
  jarvis: ['forwarding', 'coordinating'],
};

export interface CrashRun {
  run: number;
  service: ServiceName;
  moment: Moment;
  /** Milliseconds from the moment's start to the SIGKILL. */
  delayMs: number;
  /** Whether the moment was really under way when the kill came (e.g. a checkpoint being written). */
  hit: boolean;
  restartMs: number | null;
  /** Child processes (trainers) still alive 5 s after their service was killed. */
  orphans: number;
  error: string | null;
}

/** Epochs of a job long enough to be killed in (about 80 ms an epoch on 1,000 synthetic examples). */
const LONG_JOB_EPOCHS = 60;
/** How long a trainer may outlive its killed service (it exits on the IPC disconnect). */
const ORPHAN_GRACE_MS = 5_000;
/** A job or deployment must reach the moment this fast, or the run records that it could not set it up. */
const SETUP_TIMEOUT_MS = 60_000;

let jobSeq = 0;

/** A running reactor job: the active one if any, else a new one; resolves once it trains. */
async function runningJob(ctx: SoakContext, seed: number): Promise<string | null> {
  const active = (await ctx.actions.jobs()).find((j) => j.status === 'training' || j.status === 'queued');
  const jobId = active?.job_id ?? `soak-${seed}-${jobSeq++}`;
  if (!active && !(await ctx.actions.startJob(jobId, LONG_JOB_EPOCHS))) return null;
  const j = await ctx.actions.waitJob(jobId, (v) => (v.status === 'training' && v.epoch >= 1) || TERMINAL_JOB.has(v.status), SETUP_TIMEOUT_MS);
  return j?.status === 'training' ? jobId : null;
}

/** An active gradual deployment of a version that is not stable yet (trains one when there is none). */
async function activeDeployment(ctx: SoakContext, seed: number): Promise<boolean> {
  const current = await ctx.actions.deployments();
  if (current.some((d) => d.status === 'deploying')) return true;
  let { stable, versions } = await ctx.actions.versions();
  if (!versions.some((v) => v !== stable)) {
    const jobId = `soak-${seed}-${jobSeq++}`;
    if (!(await ctx.actions.startJob(jobId, 3))) return false;
    await ctx.actions.waitJob(jobId, (v) => TERMINAL_JOB.has(v.status), SETUP_TIMEOUT_MS);
    ({ stable, versions } = await ctx.actions.versions());
  }
  const candidate = versions.find((v) => v !== stable);
  return candidate !== undefined && (await ctx.actions.deploy(candidate, 'gradual_rollout')) !== null;
}

/** Resolves when a checkpoint of `jobId` starts being written (its temporary folder appears). */
async function checkpointStarts(ctx: SoakContext, jobId: string): Promise<boolean> {
  const dir = join(ctx.cluster.home, 'training_checkpoints', jobId);
  if (!(await pollUntil(() => existsSync(dir), SETUP_TIMEOUT_MS, 20))) return false;
  return new Promise((resolve) => {
    const timer = setTimeout(() => (watcher.close(), resolve(false)), SETUP_TIMEOUT_MS);
    const watcher = watch(dir, (_event, name) => {
      if (name?.startsWith('.epoch-') && name.endsWith('.tmp')) {
        clearTimeout(timer);
        watcher.close();
        resolve(true);
      }
    });
  });
}

/** Sets the moment up; resolves with a promise of work in flight (awaited after the kill) and whether it really happened. */
async function enter(ctx: SoakContext, moment: Moment, seed: number): Promise<{ ready: boolean; inFlight: Promise<unknown> }> {
  const idle = { ready: true, inFlight: Promise.resolve() };
  switch (moment) {
    case 'ingestion': {
      // Files and HTTP batches at once; the kill lands somewhere in their intake.
      for (let i = 0; i < 10; i++) dropBatchFile(ctx.eventsDir, ctx.ledger, ctx.source.batch(40), i % 2 ? 'jsonl' : 'batch');
      const posts = Array.from({ length: 4 }, () => postBatch(ctx.client, ctx.ledger, 'reactor-http', ctx.cluster.url('reactor'), ctx.source.batch(50)));
      return { ready: true, inFlight: Promise.all(posts) };
    }
    case 'training':
      return { ready: (await runningJob(ctx, seed)) !== null, inFlight: Promise.resolve() };
    case 'checkpoint': {
      const jobId = await runningJob(ctx, seed);
      return { ready: jobId !== null && (await checkpointStarts(ctx, jobId)), inFlight: Promise.resolve() };
    }
    case 'rollout':
      return { ready: await activeDeployment(ctx, seed), inFlight: Promise.resolve() };
    case 'predictions':
      return idle; // the background traffic predicts all the time
    case 'forwarding': {
      const posts = Array.from({ length: 6 }, () => postBatch(ctx.client, ctx.ledger, 'jarvis-http', ctx.cluster.url('jarvis'), ctx.source.batch(30)));
      return { ready: true, inFlight: Promise.all(posts) };
    }
    case 'coordinating': {
      const id = await ctx.actions.trigger(20);
      const running = await pollUntil(async () => (await ctx.actions.jarvisJobs()).some((j) => j.job_id === id && j.status === 'running'), SETUP_TIMEOUT_MS, 100);
      return { ready: running === true, inFlight: Promise.resolve() };
    }
  }
}

/** Kill windows per moment, in ms after it is set up: short where the moment itself is short. */
const KILL_WINDOW_MS: Record<Moment, number> = {
  ingestion: 600,
  training: 2_000,
  checkpoint: 15,
  rollout: 3_000,
  predictions: 1_500,
  forwarding: 500,
  coordinating: 2_000,
};

export async function crashRun(ctx: SoakContext, run: number, seed: number): Promise<CrashRun> {
  const service = SERVICES[run % SERVICES.length];
  const moments = MOMENTS[service];
  const moment = moments[ctx.rng.nextInt(moments.length)];
  const delayMs = between(ctx, 0, KILL_WINDOW_MS[moment]);
  ctx.tally.phase = `run ${run}: ${service} ${moment}`;
  const result: CrashRun = { run, service, moment, delayMs, hit: false, restartMs: null, orphans: 0, error: null };
  try {
    const { ready, inFlight } = await enter(ctx, moment, seed);
    result.hit = ready;
    await sleep(delayMs);
    const pid = ctx.cluster.pid(service)!;
    const children = childPids(pid);
    await ctx.cluster.stop(service, 'SIGKILL');
    // Trainers must notice their parent is gone and exit; any still here is counted and cleaned up.
    await pollUntil(() => children.every((c) => !isAlive(c)), ORPHAN_GRACE_MS, 50);
    for (const c of children.filter(isAlive)) {
      result.orphans++;
      process.kill(c, 'SIGKILL');
    }
    const t0 = performance.now();
    await ctx.cluster.start(service);
    result.restartMs = Math.round(performance.now() - t0);
    await inFlight;
  } catch (err) {
    result.error = (err as Error).message.slice(0, 300);
    // Leave the cluster whole for the next run.
    if (!ctx.cluster.isRunning(service)) await ctx.cluster.start(service).catch(() => undefined);
  }
  ctx.log(`  run ${run}: SIGKILL ${service} during ${moment}${result.hit ? '' : ' (not reached)'} after ${delayMs} ms; back in ${result.restartMs ?? '-'} ms${result.orphans ? `; ${result.orphans} orphan(s)` : ''}${result.error ? `; ${result.error}` : ''}`);
  return result;
}
