/**
 * The trainer child process: one per job, so a crash or OOM kills the job, not the service, and its
 * memory is measurable. It trains epoch by epoch, checkpoints, exports and reports to the parent over IPC.
 * If the parent goes away, it exits: the restarted service resumes the job from its last checkpoint.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CheckpointDir } from './checkpoints.js';
import { Rng } from './rng.js';
import { getTrainerModule } from './trainers/index.js';
import type { Example } from './trainers/types.js';
import type { ChildMessage, DatasetLine, EpochReport, ParentMessage, StopReason, TrainerJobSpec } from './trainer-protocol.js';
import { ensureDir } from '../util/fs.js';

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

async function run(spec: TrainerJobSpec): Promise<void> {
  const module = getTrainerModule(spec.modelType);
  const { train, validation } = await readDataset(spec.datasetPath);
  const checkpoints = new CheckpointDir(spec.checkpointsRoot, spec.jobId);
  const rng = new Rng(spec.seed);
  const trainer = module.createTrainer();
  await trainer.init(train, validation, spec.options, rng);

  let startEpoch = 1;
  let resumedFromEpoch: number | null = null;
  const latest = spec.resume ? checkpoints.latest() : undefined;
  if (latest) {
    await trainer.loadState(latest.dir);
    rng.setState(latest.meta.rng);
    startEpoch = latest.meta.epoch + 1;
    resumedFromEpoch = latest.meta.epoch;
  }
  await send({ type: 'started', resumedFromEpoch, trainSize: train.length, validationSize: validation.length });

  const total = spec.options.epochs;
  let last: EpochReport | undefined = latest ? (latest.meta.metrics as unknown as EpochReport) : undefined;
  let seconds = 0;
  let epochsTimed = 0;
  for (let epoch = startEpoch; epoch <= total; epoch++) {
    const t0 = performance.now();
    // A shutdown lets the epoch finish so it can be checkpointed; a cancel stops after the current batch.
    const metrics = await trainer.runEpoch(epoch, rng, () => stopReason === 'cancel');
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
    if (due || stopReason === 'shutdown') {
      const saved = await checkpoints.save(
        { job_id: spec.jobId, epoch, total_epochs: total, rng: rng.getState(), metrics: { ...last }, created_at: new Date().toISOString() },
        (dir) => trainer.saveState(dir),
      );
      await send({ type: 'checkpoint', epoch, path: saved.dir, metrics: last });
    }
    if (stopReason === 'shutdown') {
      await send({ type: 'stopped', reason: 'shutdown', epoch });
      trainer.dispose();
      return;
    }
  }
  if (!last) throw new Error('no epoch ran: the job was already complete in its checkpoint');
  ensureDir(spec.exportDir);
  await trainer.exportModel(spec.exportDir);
  trainer.dispose();
  // ru_maxrss is in kilobytes; the export is the last allocation-heavy step, so this is the job's peak.
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  await send({ type: 'exported', dir: spec.exportDir, epochs: total, metrics: last, trainSize: train.length, validationSize: validation.length, peakRssBytes });
}

process.on('message', (msg: ParentMessage) => {
  if (msg.cmd === 'stop') {
    stopReason = msg.reason;
    return;
  }
  if (msg.cmd === 'start') {
    run(msg.job)
      .then(() => process.exit(0))
      .catch(async (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        await send({ type: 'failed', error: e.message, stack: e.stack });
        process.exit(1);
      });
  }
});

// Orphaned (the service died): stop now; the job resumes from its last checkpoint on restart.
process.on('disconnect', () => process.exit(3));

void send({ type: 'ready' });
