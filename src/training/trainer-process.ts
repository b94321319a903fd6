/**
 * The trainer child process: one per job, so a crash or OOM kills the job, not the service, and its
 * memory is measurable. It trains epoch by epoch, checkpoints, exports and reports to the parent over IPC.
 * If the parent goes away, it exits within a batch: the restarted service resumes the job from its last
 * checkpoint, and the job lock (job-lock.ts) keeps a late orphan and its successor from running together.
 */
import { createReadStream, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setPriority } from 'node:os';
import { CheckpointDir, type Checkpoint } from './checkpoints.js';
import { JobLock, LOCK_WAIT_MS } from './job-lock.js';
import { Rng } from '../models/kernels/rng.js';
import { getTrainerModule } from '../models/index.js';
import type { Example, ModelTrainer } from '../models/types.js';
import { TRAINER_NICENESS, type ChildMessage, type DatasetLine, type EpochReport, type ParentMessage, type StopReason, type TrainerJobSpec } from './trainer-protocol.js';
import { ensureDir, storageTrouble } from '../util/fs.js';

let stopReason: StopReason | null = null;

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

async function readDataset(path: string): Promise<{ train: Example[]; validation: Example[] }> {
  const train: Example[] = [];
  const validation: Example[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    const d = JSON.parse(line) as DatasetLine;
    const ex: Example = { id: d.id, input: d.input, label: d.label, score: d.score };
    (d.split === 'validation' ? validation : train).push(ex);
  }
  return { train, validation };
}

try {
  setPriority(TRAINER_NICENESS);
} catch {
  // Not allowed here (some containers): train at the normal priority.
}

/** The reactor that forked us; a different parent means it died and we were re-parented. */
const parentPid = process.ppid;

/**
 * True once the reactor is gone. Epochs run synchronously, so the IPC 'disconnect' event waits for the
 * epoch to end; this check runs after every batch and stops an orphan within one.
 */
function orphaned(): boolean {
  return process.ppid !== parentPid;
}

/** When the runner last spoke, and how long its silence may last (TrainerJobSpec.keepaliveTimeoutMs). */
let lastHeard = Date.now();
let silenceLimitMs: number | undefined;

/** True once the runner has been silent too long (paused or hung: it has lost its claim by now). */
function abandoned(): boolean {
  return orphaned() || (silenceLimitMs !== undefined && Date.now() - lastHeard > silenceLimitMs);
}

// Also checked on a timer: a paused runner stops reading its IPC pipe, so a report to it can wait forever
// (the epochs themselves check after every batch). Half-written checkpoints are cleared by the next trainer.
setInterval(() => {
  if (abandoned()) process.exit(3);
}, 1_000).unref();

/** Holds the job's lock, clears what an earlier trainer of the job left, and says so. */
async function takeOver(checkpoints: CheckpointDir): Promise<void> {
  ensureDir(checkpoints.root);
  const lock = new JobLock(checkpoints.root);
  process.on('exit', () => lock.release());
  const { tookOverFrom } = await lock.acquire(LOCK_WAIT_MS, (h) => void send({ type: 'notice', message: `waiting for trainer pid ${h.pid} of an earlier run of this job to exit` }));
  if (tookOverFrom !== null) await send({ type: 'notice', message: `took over the job lock of trainer pid ${tookOverFrom}, which is gone` });
  const leftovers = checkpoints.removeTemporary();
  if (leftovers.length) await send({ type: 'notice', message: `removed unfinished checkpoint folders ${leftovers.join(', ')}` });
}

/**
 * Loads the newest checkpoint that verifies and loads, setting damaged ones aside (each reported).
 * A trainer that failed half way through a load is replaced by a fresh one.
 */
async function resumePoint(checkpoints: CheckpointDir, fresh: () => Promise<ModelTrainer>, trainer: ModelTrainer): Promise<{ trainer: ModelTrainer; latest?: Checkpoint }> {
  for (;;) {
    const { checkpoint, skipped } = await checkpoints.newestIntact();
    for (const s of skipped) await send({ type: 'checkpoint_skipped', epoch: s.epoch, path: s.dir, reason: s.reason });
    if (!checkpoint) return { trainer };
    try {
      await trainer.loadState(checkpoint.dir);
      return { trainer, latest: checkpoint };
    } catch (err) {
      const s = checkpoints.setAside(checkpoint.dir, `could not be loaded: ${(err as Error).message}`);
      await send({ type: 'checkpoint_skipped', epoch: s.epoch, path: s.dir, reason: s.reason });
      trainer.dispose();
      trainer = await fresh();
    }
  }
}

async function run(spec: TrainerJobSpec): Promise<void> {
  const module = getTrainerModule(spec.modelType);
  const checkpoints = new CheckpointDir(spec.checkpointsRoot, spec.jobId);
  await takeOver(checkpoints);
  const { train, validation } = await readDataset(spec.datasetPath);
  let rng = new Rng(spec.seed);
  const fresh = async () => {
    rng = new Rng(spec.seed);
    const t = module.createTrainer();
    await t.init(train, validation, spec.options, rng);
    return t;
  };
  let trainer = await fresh();

  let latest: Checkpoint | undefined;
  if (spec.resume) ({ trainer, latest } = await resumePoint(checkpoints, fresh, trainer));
  let startEpoch = 1;
  let resumedFromEpoch: number | null = null;
  if (latest) {
    rng.setState(latest.meta.rng);
    startEpoch = latest.meta.epoch + 1;
    resumedFromEpoch = latest.meta.epoch;
  }
  await send({ type: 'started', resumedFromEpoch, trainSize: train.length, validationSize: validation.length });

  const total = spec.options.epochs;
  // Resumed at the last epoch (its export or registration failed before): export that state again.
  let last: EpochReport | undefined = latest ? (latest.meta.metrics as unknown as EpochReport) : undefined;
  let seconds = 0;
  let epochsTimed = 0;
  for (let epoch = startEpoch; epoch <= total; epoch++) {
    const t0 = performance.now();
    // A shutdown lets the epoch finish so it can be checkpointed; a cancel stops after the current batch.
    const metrics = await trainer.runEpoch(epoch, rng, () => stopReason === 'cancel' || abandoned());
    if (abandoned()) process.exit(3); // the runner that holds the job now (or the restarted reactor) resumes from the last checkpoint
    if (stopReason === 'cancel') {
      await send({ type: 'stopped', reason: 'cancel', epoch: epoch - 1 });
      trainer.dispose();
      return;
    }
    const dt = (performance.now() - t0) / 1000;
    seconds += dt;
    epochsTimed += 1;
    last = {
      ...metrics,
      epoch,
      total_epochs: total,
      samples_per_second: metrics.samples / Math.max(dt, 1e-9),
      eta_seconds: (seconds / epochsTimed) * (total - epoch),
    };
    await send({ type: 'epoch', report: last });
    const due = spec.checkpointEnabled && (epoch % spec.checkpointInterval === 0 || epoch === total);
    if (due || stopReason === 'shutdown') await checkpoint(checkpoints, trainer, spec, rng, last);
    if (stopReason === 'shutdown') {
      await send({ type: 'stopped', reason: 'shutdown', epoch });
      trainer.dispose();
      return;
    }
  }
  if (!last) throw new Error('no epoch ran: the job was already complete in its checkpoint');
  try {
    // From an empty folder: a trainer killed mid-export (its worker died) leaves its temporary files here,
    // and the registry lists every file of the folder into the version and its digest.
    rmSync(spec.exportDir, { recursive: true, force: true });
    ensureDir(spec.exportDir);
    await trainer.exportModel(spec.exportDir);
  } catch (err) {
    rmSync(spec.exportDir, { recursive: true, force: true }); // half an export is no use, and takes space
    throw err;
  }
  trainer.dispose();
  // ru_maxrss is in kilobytes; the export is the last allocation-heavy step, so this is the job's peak.
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  await send({ type: 'exported', dir: spec.exportDir, epochs: total, metrics: last, trainSize: train.length, validationSize: validation.length, peakRssBytes });
}

/** Saves a checkpoint; a full or read-only disk is reported and training goes on (the next one retries). */
async function checkpoint(checkpoints: CheckpointDir, trainer: ModelTrainer, spec: TrainerJobSpec, rng: Rng, report: EpochReport): Promise<void> {
  const { epoch, total_epochs } = report;
  try {
    const saved = await checkpoints.save(
      { job_id: spec.jobId, epoch, total_epochs, rng: rng.getState(), metrics: { ...report }, created_at: new Date().toISOString() },
      (dir) => trainer.saveState(dir),
    );
    await send({ type: 'checkpoint', epoch, path: saved.dir, metrics: report });
  } catch (err) {
    const code = storageTrouble(err);
    if (code === null) throw err;
    await send({ type: 'checkpoint_failed', epoch, code, error: (err as Error).message });
  }
}

process.on('message', (msg: ParentMessage) => {
  lastHeard = Date.now();
  if (msg.cmd === 'keepalive') return;
  if (msg.cmd === 'stop') {
    stopReason = msg.reason;
    return;
  }
  if (msg.cmd === 'start') {
    silenceLimitMs = msg.job.keepaliveTimeoutMs;
    run(msg.job)
      .then(() => process.exit(0))
      .catch(async (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        const code = storageTrouble(e);
        await send({ type: 'failed', error: e.message, stack: e.stack, ...(code ? { code } : {}) });
        process.exit(1);
      });
  }
});

// Orphaned (the service died): stop now; the job resumes from its last checkpoint on restart.
process.on('disconnect', () => process.exit(3));

void send({ type: 'ready' });
