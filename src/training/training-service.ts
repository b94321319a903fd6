/**
 * Reactor's training jobs: accepts start requests, freezes each job's dataset to a file, runs up to
 * MAX_CONCURRENT_TRAINING_JOBS trainer processes, turns their reports into the job's event log,
 * registers the finished model, and resumes interrupted jobs from their last checkpoint.
 *
 * A full or read-only disk never fails a job: the job stays `training`, the trouble is listed in
 * `problems()` (health answers `degraded`), and the step that failed (the trainer, or the registration of
 * its export) is retried every STORAGE_RETRY_MS until it succeeds.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { join, relative } from 'node:path';
import { renameSync, rmSync, rmdirSync } from 'node:fs';
import type { JobEvent, JobRecord, JobStore } from './jobs-store.js';
import { TERMINAL_JOB_STATUSES } from './jobs-store.js';
import {
  TrainingJobFinished,
  TrainingJobNotFound,
  TrainingNoData,
  TrainingQueueFull,
  TrainingStaleFencingToken,
  TrainingStorageUnavailable,
} from '../errors.js';
import { getTrainerModule } from '../models/index.js';
import { parseStartRequest, checkJobId, trainerOptions, type StartRequest } from './job-request.js';
import { TrainerChild } from './trainer-child.js';
import type { ChildMessage, TrainerJobSpec } from './trainer-protocol.js';
import { writeDataset as writeDatasetFile } from './dataset-file.js';
import { readDropboxFile } from './dropbox.js';
import { EstimateReuse } from './estimate-reuse.js';
import { ensureDir, storageTrouble } from '../util/fs.js';
import { toGb } from '../util/proc.js';
import type { Dataset, EstimateResponse, StartResponse, TrainingServiceListener, TrainingServiceOptions } from './training-types.js';
import { iso, metricsOf, requestRecord, round, roundReport, seedFromJobId, statusView } from './job-views.js';

export type { Dataset, EstimateResponse, ExportAssessor, StartResponse, TrainingDataPort, TrainingServiceListener, TrainingServiceOptions, VersionPort } from './training-types.js';
export { statusView } from './job-views.js';
import type { ModelType } from '../model-types.js';

/** How often a trainer that died on its own is restarted from its checkpoint before the job fails. */
export const MAX_AUTO_RESUMES = 3;
/** Samples per second assumed for a duration estimate before any job of the type has finished. */
const DEFAULT_SAMPLES_PER_SECOND = 5_000;
const FENCING_LOCK_NAME = 'training_slot';
/** How often a step that failed on a full or read-only disk is tried again. */
export const STORAGE_RETRY_MS = 30_000;

interface Running {
  child: TrainerChild;
  stopping: 'cancel' | 'shutdown' | null;
  terminal: boolean;
}


/** Refuses data a job could not train on (TrainingNoData, 400) before anything starts. */
function checkTrainable(req: StartRequest, dataset: Dataset, rejected: readonly { error: string }[]): void {
  if (dataset.train.length === 0) {
    const why = rejected.length ? `${rejected.length} rejected, first: ${rejected[0].error}` : 'the buffer has none';
    throw TrainingNoData(req.modelType, why);
  }
  if (req.modelType !== 'embedding') {
    // A classifier of one class learns nothing: refuse now rather than fail the job later.
    const labels = new Set(dataset.train.map((e) => e.label));
    if (labels.size < 2) {
      throw TrainingNoData(req.modelType, `a classifier needs at least 2 classes; all ${dataset.train.length} training examples are labelled ${JSON.stringify([...labels][0])}`);
    }
  }
}

export class TrainingService extends EventEmitter {
  private readonly running = new Map<string, Running>();
  private readonly resumeCount = new Map<string, number>();
  /** Jobs whose trainer has exported and that are being registered; never relaunched meanwhile. */
  private readonly finishing = new Set<string>();
  /** Jobs held up by a full or read-only disk: what went wrong, and the timer of the next try. */
  private readonly stalled = new Map<string, { problem: string; timer: NodeJS.Timeout }>();
  /** Trouble that did not stop a job (a checkpoint that could not be written), by job. */
  private readonly warnings = new Map<string, string>();
  private closing: Promise<void> | null = null;
  private readonly estimates = new EstimateReuse();

  constructor(private readonly opts: TrainingServiceOptions) {
    super();
  }

  override on<E extends keyof TrainingServiceListener>(event: E, listener: TrainingServiceListener[E]): this {
    return super.on(event, listener);
  }

  /**
   * POST /api/training/start. The data is gathered and written between turns of the loop (a large buffer
   * takes seconds); the checks that decide whether the job may exist run before that, to refuse early,
   * and again in the one turn that moves the dataset into place and creates the job.
   */
  async start(body: unknown): Promise<StartResponse> {
    const req = parseStartRequest(body, { checkpointInterval: this.opts.checkpointIntervalEpochs });
    const fromFile = req.datasetPath === undefined ? undefined : await readDropboxFile(req.datasetPath, this.opts.dropboxDir, { rootName: this.opts.dropboxName });
    const early = this.existingOrRefused(req);
    if (early) return early;
    const { dataset, maxSeq, rejected } = await this.collectData(req, fromFile);
    checkTrainable(req, dataset, rejected);
    const jobId = req.jobId ?? randomUUID();
    // The dataset first: a job row without its dataset would fail later with a puzzling error. It is staged
    // under a name of its own, so a concurrent start of the same job id never writes over the dataset.
    const jobDir = join(this.opts.checkpointsRoot, jobId);
    const datasetPath = join(jobDir, 'dataset.jsonl');
    const staged = join(jobDir, `.dataset.${randomUUID()}.staged`);
    const size = dataset.train.length + dataset.validation.length;
    try {
      ensureDir(jobDir);
      await (this.opts.writeDataset ?? writeDatasetFile)(staged, dataset);
      const late = this.existingOrRefused({ ...req, jobId });
      if (late) {
        this.forgetStaged(staged, jobDir);
        return late;
      }
      renameSync(staged, datasetPath);
      const { job, created } = this.opts.jobs.create({ jobId, modelType: req.modelType, request: requestRecord(req), totalEpochs: req.epochs });
      if (!created) return this.startResponse(job, 'job already exists; this is the same job');
      this.append(jobId, 'queued', { job_id: jobId, model_type: req.modelType, status: 'queued', total_epochs: req.epochs, experiences: size }, {
        datasetPath,
        datasetSize: size,
        bufferMaxSeq: maxSeq,
      });
    } catch (err) {
      this.forgetStaged(staged, jobDir);
      const code = storageTrouble(err);
      if (code === null) throw err;
      this.forgetUnstartedJob(jobId, jobDir);
      this.opts.logger.error({ err, job_id: jobId }, 'no space to start a training job');
      throw TrainingStorageUnavailable.with({ cause: err, reason: code, path: jobDir, retry_after_seconds: STORAGE_RETRY_MS / 1000 }, `the job's dataset under ${this.opts.checkpointsRoot}`, code);
    }
    this.schedule();
    const response = this.startResponse(this.opts.jobs.get(jobId)!, 'training job accepted');
    return rejected.length ? { ...response, rejected } : response;
  }

  /**
   * What decides whether a start may create its job, in one turn of the loop: a stale fencing token or a
   * full queue throws, an existing job id answers that job, undefined lets the start go on.
   */
  private existingOrRefused(req: StartRequest): StartResponse | undefined {
    if (req.fencingToken !== undefined) {
      const seen = this.opts.jobs.checkFencingToken(FENCING_LOCK_NAME, req.fencingToken);
      if (seen !== null) throw TrainingStaleFencingToken.with({ seen, details: `token ${req.fencingToken} < ${seen}` });
    }
    if (req.jobId !== undefined) {
      const existing = this.opts.jobs.get(req.jobId);
      if (existing) return this.startResponse(existing, 'job already exists; this is the same job');
    }
    getTrainerModule(req.modelType); // 400 for types without a trainer
    const active = this.opts.jobs.countActive();
    if (active >= this.opts.maxConcurrentJobs + this.opts.maxQueuedJobs) {
      const oldest = this.opts.jobs.withStatus('training')[0];
      throw TrainingQueueFull.with({ active_job_id: oldest?.jobId ?? null, retry_after_seconds: 30 }, active);
    }
    return undefined;
  }

  /** Removes a staged dataset that did not become a job's, and the job folder made for it if now empty. */
  private forgetStaged(staged: string, jobDir: string): void {
    rmSync(staged, { force: true });
    try {
      rmdirSync(jobDir); // only if empty: never someone else's files
    } catch {
      // not empty (an existing job's folder), or never made
    }
  }

  /**
   * POST /api/training/estimate: the peak memory of the job this start body would run (CONTRACT §6), from
   * its trainer's own estimate over the data it would train on, without starting anything. JARVIS reserves
   * it before the start. The same 400s as a start for a bad body, an unknown type or no data.
   */
  async estimate(body: unknown): Promise<EstimateResponse> {
    const req = parseStartRequest(body, { checkpointInterval: this.opts.checkpointIntervalEpochs });
    getTrainerModule(req.modelType); // 400 for types without a trainer, before anything is read
    if (req.experiences !== undefined || req.datasetPath !== undefined) return this.computeEstimate(req);
    // Over the buffer: reused while it has grown by less than REUSE_GROWTH (estimate-reuse.ts).
    const key = `${req.modelType}\u0000${JSON.stringify(trainerOptions(req))}`;
    return this.estimates.get(key, this.opts.data.bufferRows(req.modelType), () => this.computeEstimate(req));
  }

  private async computeEstimate(req: StartRequest): Promise<EstimateResponse> {
    const fromFile = req.datasetPath === undefined ? undefined : await readDropboxFile(req.datasetPath, this.opts.dropboxDir, { rootName: this.opts.dropboxName });
    const module = getTrainerModule(req.modelType);
    const { dataset, rejected } = await this.collectData(req, fromFile);
    checkTrainable(req, dataset, rejected);
    const examples = dataset.train.length + dataset.validation.length;
    const e = module.estimateMemory?.(dataset.train, dataset.validation, trainerOptions(req));
    if (!e) return { model_type: req.modelType, memory_bytes: null, memory_gb: null, basis: `the ${req.modelType} trainer gives no estimate`, examples };
    return { model_type: req.modelType, memory_bytes: e.bytes, memory_gb: toGb(e.bytes), basis: e.basis, examples };
  }

  /** A checkpoint folder as answers and events show it: under the checkpoints root's name, not the host's path. */
  private shownCheckpoint(path: string): string {
    return `${this.opts.checkpointsName ?? '$TRAINING_CHECKPOINT_DIR'}/${relative(this.opts.checkpointsRoot, path)}`;
  }

  status(jobId: string): Record<string, unknown> {
    return statusView(this.mustGet(jobId));
  }

  list(filter: { status?: string; modelType?: string; limit?: number }): Record<string, unknown>[] {
    return this.opts.jobs.list(filter).map(statusView);
  }

  get(jobId: string): JobRecord | undefined {
    return this.opts.jobs.get(checkJobId(jobId));
  }

  eventsSince(jobId: string, afterSeq: number): JobEvent[] {
    return this.opts.jobs.eventsSince(jobId, afterSeq);
  }

  /** POST /api/training/cancel/{id}: resolves once the trainer has exited and the job is cancelled. */
  async cancel(jobId: string): Promise<{ job_id: string; status: 'cancelled'; message: string }> {
    const job = this.mustGet(jobId);
    if (TERMINAL_JOB_STATUSES.includes(job.status)) throw TrainingJobFinished(jobId, job.status);
    const run = this.running.get(jobId);
    if (run) {
      run.stopping = 'cancel';
      await run.child.stop('cancel');
    }
    const now = this.opts.jobs.get(jobId)!;
    if (!TERMINAL_JOB_STATUSES.includes(now.status)) this.finishCancelled(jobId, now.epoch);
    return { job_id: jobId, status: 'cancelled', message: `cancelled at epoch ${now.epoch}` };
  }

  /** Jobs that were training or queued when the service stopped: resume or fail them, then schedule. */
  recover(): void {
    for (const job of this.opts.jobs.withStatus('training')) {
      if (this.opts.autoResume) {
        this.opts.logger.info({ job_id: job.jobId, epoch: job.epoch }, 'resuming interrupted training job');
      } else {
        this.fail(job.jobId, 'the service stopped while the job was training and AUTO_RESUME_FAILED_TRAINING is off');
      }
    }
    this.schedule();
  }

  /** What keeps jobs from going on (a full or read-only disk), one line each; empty when all is well. */
  problems(): string[] {
    return [...[...this.stalled.values()].map((s) => s.problem), ...this.warnings.values()];
  }

  /** Trainer process ids, for memory accounting. */
  trainerPids(): number[] {
    return [...this.running.values()].map((r) => r.child.pid).filter((p): p is number => p !== undefined);
  }

  activeJobCount(): number {
    return this.running.size;
  }

  /** Stops every trainer after it checkpoints its current epoch; jobs stay `training` and resume on restart. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const s of this.stalled.values()) clearTimeout(s.timer);
      await Promise.all(
        [...this.running.values()].map((r) => {
          r.stopping = 'shutdown';
          return r.child.stop('shutdown');
        }),
      );
    })();
    return this.closing;
  }

  private mustGet(jobId: string): JobRecord {
    const job = this.opts.jobs.get(checkJobId(jobId));
    if (!job) throw TrainingJobNotFound();
    return job;
  }

  private async collectData(req: StartRequest, fromFile: unknown[] | undefined): Promise<{ dataset: Dataset; maxSeq: number | null; rejected: { index: number; error: string }[] }> {
    const raw = req.experiences ?? fromFile;
    if (raw !== undefined) {
      const { train, validation, rejected } = this.opts.data.inlineDataset(raw, req.modelType);
      return { dataset: { train, validation }, maxSeq: null, rejected };
    }
    const { train, validation, maxSeq } = await this.opts.data.bufferDataset(req.modelType);
    return { dataset: { train, validation }, maxSeq, rejected: [] };
  }

  /** Removes what a start that failed on a full disk left: its job row (if any) and dataset. */
  private forgetUnstartedJob(jobId: string, jobDir: string): void {
    rmSync(join(jobDir, 'dataset.jsonl'), { force: true });
    try {
      rmdirSync(jobDir); // only if empty: never someone else's files
    } catch {
      // not empty, or never made
    }
    try {
      if (this.opts.jobs.get(jobId)?.datasetPath === null) this.opts.jobs.update(jobId, { status: 'failed', error: 'could not be started: no space for its dataset', completedAt: Date.now() / 1000 });
    } catch {
      // the database is on the same full disk
    }
  }

  private startResponse(job: JobRecord, message: string): StartResponse {
    const perSecond = this.opts.jobs.lastSamplesPerSecond(job.modelType) ?? DEFAULT_SAMPLES_PER_SECOND;
    const remaining = Math.max(0, job.totalEpochs - job.epoch);
    if (TERMINAL_JOB_STATUSES.includes(job.status)) {
      // A repeated job id answers what really happened to that job, not "started".
      const why = job.error ? `: ${job.error}` : job.modelVersion ? ` as ${job.modelVersion}` : '';
      message = `job ${job.jobId} already ${job.status}${why}; start with another job_id to train again`;
    }
    return {
      job_id: job.jobId,
      status: job.status === 'training' ? 'started' : job.status,
      message,
      started_at: iso(job.startedAt ?? job.createdAt),
      estimated_duration_seconds: Math.ceil(((job.datasetSize ?? 0) * remaining) / perSecond) + 1,
    };
  }

  private append(jobId: string, event: string, data: Record<string, unknown>, patch?: Parameters<JobStore['appendEvent']>[3]): void {
    const e = this.opts.jobs.appendEvent(jobId, event, data, patch);
    this.emit('event', jobId, e);
  }

  private schedule(): void {
    if (this.closing) return;
    const candidates = [...this.opts.jobs.withStatus('training'), ...this.opts.jobs.withStatus('queued')];
    for (const job of candidates) {
      if (this.running.size >= this.opts.maxConcurrentJobs) return;
      if (this.running.has(job.jobId) || this.finishing.has(job.jobId) || this.stalled.has(job.jobId)) continue;
      this.launch(job);
    }
  }

  private launch(job: JobRecord): void {
    if (job.datasetPath === null) {
      // Accepted before this version checked its dataset write (a full disk at start): nothing to train on.
      this.fail(job.jobId, 'the job has no dataset file (it could not be written when the job was started); start it again');
      return;
    }
    const req = job.request as unknown as StartRequest;
    const spec: TrainerJobSpec = {
      jobId: job.jobId,
      modelType: job.modelType as ModelType,
      datasetPath: job.datasetPath,
      options: { ...trainerOptions(req), epochs: job.totalEpochs },
      seed: req.seed ?? seedFromJobId(job.jobId),
      checkpointsRoot: this.opts.checkpointsRoot,
      checkpointEnabled: req.checkpointEnabled,
      checkpointInterval: req.checkpointInterval,
      exportDir: join(this.opts.checkpointsRoot, job.jobId, 'export'),
      resume: true,
    };
    if (job.status === 'queued') {
      this.opts.jobs.update(job.jobId, { status: 'training', startedAt: Date.now() / 1000 });
    }
    const child = new TrainerChild(spec);
    const run: Running = { child, stopping: null, terminal: false };
    this.running.set(job.jobId, run);
    child.on('message', (msg) => {
      this.onChildMessage(job.jobId, run, msg).catch((err: unknown) => {
        this.opts.logger.error({ err, job_id: job.jobId }, 'handling trainer message failed');
        run.terminal = true;
        this.fail(job.jobId, `could not finish the job: ${(err as Error).message}`);
        child.kill();
      });
    });
    child.on('exit', (code, signal) => this.onChildExit(job.jobId, run, code, signal));
    this.opts.logger.info({ job_id: job.jobId, pid: child.pid, model_type: job.modelType }, 'trainer started');
  }

  private async onChildMessage(jobId: string, run: Running, msg: ChildMessage): Promise<void> {
    switch (msg.type) {
      case 'ready':
        return;
      case 'started':
        if (msg.resumedFromEpoch !== null) {
          this.append(
            jobId,
            'status',
            { job_id: jobId, status: 'training', epoch: msg.resumedFromEpoch, resumed_from_epoch: msg.resumedFromEpoch, message: `resumed from epoch ${msg.resumedFromEpoch}` },
            { resumedFromEpoch: msg.resumedFromEpoch, epoch: msg.resumedFromEpoch },
          );
        }
        return;
      case 'epoch':
        this.append(jobId, 'status', { job_id: jobId, status: 'training', ...roundReport(msg.report) }, { epoch: msg.report.epoch, metrics: metricsOf(msg.report) });
        return;
      case 'checkpoint_skipped':
        this.opts.logger.warn({ job_id: jobId, epoch: msg.epoch, set_aside: msg.path, reason: msg.reason }, 'damaged checkpoint skipped');
        this.append(jobId, 'status', {
          job_id: jobId,
          status: 'training',
          message: `checkpoint of epoch ${msg.epoch} skipped: ${msg.reason}; set aside as ${msg.path}`,
          checkpoint_skipped: { epoch: msg.epoch, path: msg.path, reason: msg.reason },
        });
        return;
      case 'checkpoint_failed': {
        const problem = `job ${jobId}: the checkpoint of epoch ${msg.epoch} could not be written (${msg.code}); training goes on, free disk space under ${this.opts.checkpointsRoot}`;
        this.warnings.set(jobId, problem);
        this.opts.logger.error({ job_id: jobId, epoch: msg.epoch, code: msg.code, error: msg.error }, 'checkpoint could not be written');
        this.append(jobId, 'status', { job_id: jobId, status: 'training', epoch: msg.epoch, message: problem });
        return;
      }
      case 'notice':
        this.opts.logger.info({ job_id: jobId }, msg.message);
        return;
      case 'checkpoint':
        this.warnings.delete(jobId);
        this.append(
          jobId,
          'checkpoint',
          { job_id: jobId, epoch: msg.epoch, checkpoint_path: this.shownCheckpoint(msg.path), metrics: metricsOf(msg.metrics) },
          { checkpoint: { epoch: msg.epoch, checkpoint_path: this.shownCheckpoint(msg.path) } },
        );
        return;
      case 'exported':
        run.terminal = true;
        await this.register(jobId, msg);
        return;
      case 'stopped':
        if (msg.reason === 'cancel') {
          run.terminal = true;
          this.finishCancelled(jobId, msg.epoch);
        }
        return;
      case 'failed':
        run.terminal = true;
        if (msg.code) this.stall(jobId, `its trainer stopped: ${msg.error}`, () => this.schedule());
        else this.fail(jobId, msg.error);
        return;
    }
  }

  /** Registers an export; a full or read-only disk keeps the export and retries later. */
  private async register(jobId: string, msg: Extract<ChildMessage, { type: 'exported' }>): Promise<void> {
    this.finishing.add(jobId);
    try {
      await this.complete(jobId, msg);
    } catch (err) {
      if (storageTrouble(err) === null) throw err;
      this.stall(jobId, `registering its model failed: ${(err as Error).message}`, () => void this.register(jobId, msg).catch((e: unknown) => this.fail(jobId, `could not finish the job: ${(e as Error).message}`)));
      return;
    } finally {
      this.finishing.delete(jobId);
    }
    this.schedule();
  }

  /**
   * Holds a job up until the disk is fixed: listed in problems() (health `degraded`), reported in its
   * event log, and `retry` runs after STORAGE_RETRY_MS. The job stays `training`, so a restart resumes it.
   */
  private stall(jobId: string, what: string, retry: () => void): void {
    const every = this.opts.storageRetryMs ?? STORAGE_RETRY_MS;
    const problem = `job ${jobId} waits for disk space or a writable folder: ${what}; retrying every ${every / 1000} s`;
    const timer = setTimeout(() => {
      this.stalled.delete(jobId);
      retry();
    }, every);
    this.stalled.set(jobId, { problem, timer });
    this.opts.logger.error({ job_id: jobId }, problem);
    this.append(jobId, 'status', { job_id: jobId, status: 'training', message: problem });
  }

  private async complete(jobId: string, msg: Extract<ChildMessage, { type: 'exported' }>): Promise<void> {
    const job = this.opts.jobs.get(jobId)!;
    const metrics = metricsOf(msg.metrics);
    const extra = await this.assessExport(job, msg.dir);
    const { version } = await this.opts.versions.register({
      modelType: job.modelType as ModelType,
      jobId,
      sourceDir: msg.dir,
      metrics: { ...metrics, samples_per_second: msg.metrics.samples_per_second, epochs: msg.epochs },
      counts: { train: msg.trainSize, validation: msg.validationSize },
      extra,
    });
    if (job.bufferMaxSeq !== null) this.opts.data.markTrained(job.modelType as ModelType, job.bufferMaxSeq);
    rmSync(msg.dir, { recursive: true, force: true });
    this.clearTrouble(jobId);
    this.append(
      jobId,
      'completed',
      {
        job_id: jobId,
        status: 'completed',
        model_version: version,
        metrics: { ...metrics, samples_per_second: round(msg.metrics.samples_per_second) },
        peak_rss_mb: Math.round(msg.peakRssBytes / 2 ** 20),
      },
      { status: 'completed', modelVersion: version, completedAt: Date.now() / 1000, metrics: { ...metrics, samples_per_second: msg.metrics.samples_per_second } },
    );
    this.opts.logger.info({ job_id: jobId, model_version: version, ...metrics }, 'training job completed');
  }

  /** The assessor's manifest fields; a failure is logged and recorded there, never fails the job. */
  private async assessExport(job: JobRecord, exportDir: string): Promise<Record<string, unknown> | undefined> {
    const { assessor, logger } = this.opts;
    if (!assessor || job.datasetPath === null) return undefined;
    try {
      return await assessor.assessExport({ modelType: job.modelType as ModelType, jobId: job.jobId, exportDir, datasetPath: job.datasetPath });
    } catch (err) {
      logger.warn({ err, job_id: job.jobId }, 'evaluating the new version failed; registering it without figures');
      return { evaluation: { error: err instanceof Error ? err.message : String(err) } };
    }
  }

  private onChildExit(jobId: string, run: Running, code: number | null, signal: NodeJS.Signals | null): void {
    this.running.delete(jobId);
    // A trainer killed for not stopping in time: the job is cancelled before anything can relaunch it.
    if (!run.terminal && run.stopping === 'cancel') {
      run.terminal = true;
      const job = this.opts.jobs.get(jobId);
      if (job && !TERMINAL_JOB_STATUSES.includes(job.status)) this.finishCancelled(jobId, job.epoch);
    }
    if (!run.terminal && run.stopping === null) {
      const job = this.opts.jobs.get(jobId);
      if (job && !TERMINAL_JOB_STATUSES.includes(job.status)) {
        const attempts = (this.resumeCount.get(jobId) ?? 0) + 1;
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        if (this.opts.autoResume && attempts <= MAX_AUTO_RESUMES && !this.closing) {
          this.resumeCount.set(jobId, attempts);
          this.opts.logger.warn({ job_id: jobId, attempt: attempts }, `trainer ${why}; resuming from the last checkpoint`);
        } else {
          this.fail(jobId, `trainer process ${why}`);
        }
      }
    }
    this.schedule();
  }

  /** Forgets a job's disk trouble once it completed or ended otherwise. */
  private clearTrouble(jobId: string): void {
    const stalled = this.stalled.get(jobId);
    if (stalled) clearTimeout(stalled.timer);
    this.stalled.delete(jobId);
    this.warnings.delete(jobId);
  }

  private finishCancelled(jobId: string, epoch: number): void {
    this.clearTrouble(jobId);
    this.append(jobId, 'cancelled', { job_id: jobId, status: 'cancelled', epoch }, { status: 'cancelled', completedAt: Date.now() / 1000 });
  }

  private fail(jobId: string, error: string): void {
    this.clearTrouble(jobId);
    this.append(jobId, 'failed', { job_id: jobId, status: 'failed', error }, { status: 'failed', error, completedAt: Date.now() / 1000 });
    this.opts.logger.error({ job_id: jobId, error }, 'training job failed');
  }
}

