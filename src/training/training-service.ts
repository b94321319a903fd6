/**
 * Reactor's training jobs: accepts start requests, freezes each job's dataset to a file and queues the
 * job; answers status, lists and cancels. The jobs are trained by job runners (job-runner.ts): this
 * process's own unless TRAINING_WORKERS=external, and those of `trinity worker` processes sharing the
 * database. A full or read-only disk at start answers 503 (TrainingStorageUnavailable).
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renameSync, rmSync, rmdirSync } from 'node:fs';
import type { JobEvent, JobPatch, JobRecord } from './jobs-store.js';
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
import { JobRunner, STORAGE_RETRY_MS } from './job-runner.js';
import { writeDataset as writeDatasetFile } from './dataset-file.js';
import { readDropboxFile } from './dropbox.js';
import { EstimateReuse } from './estimate-reuse.js';
import { ensureDir, storageTrouble } from '../util/fs.js';
import { toGb } from '../util/proc.js';
import { Mutex, type Sql } from '../store/sql.js';
import type { Dataset, EstimateResponse, StartResponse, TrainingServiceListener, TrainingServiceOptions } from './training-types.js';
import { iso, requestRecord, statusView } from './job-views.js';
import { DatasetTally, tallied } from './dataset-tally.js';
import type { MemoryEstimate } from '../models/kernels/memory-estimate.js';

export type { Dataset, EstimateResponse, ExportAssessor, StartResponse, TrainingDataPort, TrainingServiceListener, TrainingServiceOptions, VersionPort } from './training-types.js';
export { statusView } from './job-views.js';
export { MAX_AUTO_RESUMES, STORAGE_RETRY_MS } from './job-runner.js';

/** Samples per second assumed for a duration estimate before any job of the type has finished. */
const DEFAULT_SAMPLES_PER_SECOND = 5_000;
const FENCING_LOCK_NAME = 'training_slot';
/** TRAINING_LEASE_TTL's default: seconds a runner's claim on a job lasts unless renewed. */
export const DEFAULT_LEASE_TTL_SECONDS = 30;
/** How long a cancel waits for another process's runner to stop the trainer before it ends the job itself. */
export const CANCEL_WAIT_MS = 5_000;
const CANCEL_POLL_MS = 100;

interface StartData {
  /** Inline data, counted before anything is written; null for the buffer (counted as it is written). */
  counted: DatasetTally | null;
  rejected: { index: number; error: string }[];
  /** Writes the dataset to `path`: what it holds and, for the buffer, the max seq it read up to. */
  write(path: string): Promise<{ tally: DatasetTally; maxSeq: number | null }>;
}

/** Refuses data a job could not train on (TrainingNoData, 400). */
function checkTrainable(req: StartRequest, data: DatasetTally, rejected: readonly { error: string }[]): void {
  if (data.trainableFor(req.modelType)) return;
  if (data.train === 0) {
    const why = rejected.length ? `${rejected.length} rejected, first: ${rejected[0].error}` : 'the buffer has none';
    throw TrainingNoData(req.modelType, why);
  }
  // A classifier of one class learns nothing: refuse now rather than fail the job later.
  throw TrainingNoData(req.modelType, `a classifier needs at least 2 classes; all ${data.train} training examples are labelled ${JSON.stringify([...data.labels][0])}`);
}

export class TrainingService extends EventEmitter {
  /** This process's job runner; null when training is left to `trinity worker` processes. */
  private readonly runner: JobRunner | null;
  private closing: Promise<void> | null = null;
  private readonly estimates = new EstimateReuse();
  /** A start's last check, dataset move and job insert, one start at a time (they were one turn of the loop). */
  private readonly creating = new Mutex();

  constructor(private readonly opts: TrainingServiceOptions) {
    super();
    this.runner =
      opts.trainHere === false
        ? null
        : new JobRunner({
            jobs: opts.jobs,
            claims: opts.jobs.claims,
            data: opts.data,
            versions: opts.versions,
            assessor: opts.assessor,
            logger: opts.logger,
            checkpointsRoot: opts.checkpointsRoot,
            checkpointsName: opts.checkpointsName,
            maxConcurrentJobs: opts.maxConcurrentJobs,
            autoResume: opts.autoResume,
            storageRetryMs: opts.storageRetryMs,
            workerId: opts.workerId ?? `runner-${process.pid}-${randomUUID().slice(0, 8)}`,
            leaseTtlSeconds: opts.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS,
            roster: opts.jobs.roster,
          });
    this.runner?.on('event', (jobId, e) => this.emit('event', jobId, e));
  }

  override on<E extends keyof TrainingServiceListener>(event: E, listener: TrainingServiceListener[E]): this {
    return super.on(event, listener);
  }

  /**
   * POST /api/training/start. The data is gathered and written between turns of the loop (a large buffer
   * takes seconds); the checks that decide whether the job may exist run before that, to refuse early,
   * and again, under this process's start lock, where the dataset moves into place and the job is created.
   */
  async start(body: unknown): Promise<StartResponse> {
    const req = parseStartRequest(body, { checkpointInterval: this.opts.checkpointIntervalEpochs });
    const fromFile = req.datasetPath === undefined ? undefined : await readDropboxFile(req.datasetPath, this.opts.dropboxDir, { rootName: this.opts.dropboxName });
    const early = await this.existingOrRefused(req);
    if (early) return early;
    const data = await this.startData(req, fromFile);
    // Data in memory is checked before anything is written; the buffer's is counted as it is written.
    if (data.counted) checkTrainable(req, data.counted, data.rejected);
    const jobId = req.jobId ?? randomUUID();
    // The dataset first: a job row without its dataset would fail later with a puzzling error. It is staged
    // under a name of its own, so a concurrent start of the same job id never writes over the dataset.
    const jobDir = join(this.opts.checkpointsRoot, jobId);
    const datasetPath = join(jobDir, 'dataset.jsonl');
    const staged = join(jobDir, `.dataset.${randomUUID()}.staged`);
    try {
      ensureDir(jobDir);
      const { tally, maxSeq } = await data.write(staged);
      checkTrainable(req, tally, data.rejected);
      const size = tally.train + tally.validation;
      const release = await this.creating.lock();
      let made;
      try {
        const late = await this.existingOrRefused({ ...req, jobId });
        if (late) {
          this.forgetStaged(staged, jobDir);
          return late;
        }
        renameSync(staged, datasetPath);
        made = await this.opts.jobs.create(
          { jobId, modelType: req.modelType, request: requestRecord(req), totalEpochs: req.epochs, workerPool: req.workerPool },
          {
            event: 'queued',
            data: { job_id: jobId, model_type: req.modelType, status: 'queued', total_epochs: req.epochs, experiences: size },
            patch: { datasetPath, datasetSize: size, bufferMaxSeq: maxSeq },
          },
        );
      } finally {
        release();
      }
      if (!made.created) return await this.startResponse(made.job, 'job already exists; this is the same job');
      this.emit('event', jobId, made.event!);
    } catch (err) {
      this.forgetStaged(staged, jobDir);
      const code = storageTrouble(err);
      if (code === null) throw err;
      await this.forgetUnstartedJob(jobId, jobDir);
      this.opts.logger.error({ err, job_id: jobId }, 'no space to start a training job');
      throw TrainingStorageUnavailable.with({ cause: err, reason: code, path: jobDir, retry_after_seconds: STORAGE_RETRY_MS / 1000 }, `the job's dataset under ${this.opts.checkpointsRoot}`, code);
    }
    // This process's runner claims it now when it has a free slot: the answer then says 'started'.
    await this.runner?.poke();
    const response = await this.startResponse((await this.opts.jobs.get(jobId))!, 'training job accepted');
    return data.rejected.length ? { ...response, rejected: data.rejected } : response;
  }

  /**
   * What decides whether a start may create its job: a stale fencing token or a full queue throws, an
   * existing job id answers that job, undefined lets the start go on.
   */
  private async existingOrRefused(req: StartRequest): Promise<StartResponse | undefined> {
    if (req.fencingToken !== undefined) {
      const seen = await this.opts.jobs.checkFencingToken(FENCING_LOCK_NAME, req.fencingToken);
      if (seen !== null) throw TrainingStaleFencingToken.with({ seen, details: `token ${req.fencingToken} < ${seen}` });
    }
    if (req.jobId !== undefined) {
      const existing = await this.opts.jobs.get(req.jobId);
      if (existing) return await this.startResponse(existing, 'job already exists; this is the same job');
    }
    getTrainerModule(req.modelType); // 400 for types without a trainer
    const active = await this.opts.jobs.countActive();
    if (active >= this.opts.maxConcurrentJobs + this.opts.maxQueuedJobs) {
      const oldest = (await this.opts.jobs.withStatus('training'))[0];
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
    return this.estimates.get(key, await this.opts.data.bufferRows(req.modelType), () => this.computeEstimate(req));
  }

  private async computeEstimate(req: StartRequest): Promise<EstimateResponse> {
    const fromFile = req.datasetPath === undefined ? undefined : await readDropboxFile(req.datasetPath, this.opts.dropboxDir, { rootName: this.opts.dropboxName });
    let tally: DatasetTally;
    let e: MemoryEstimate | null;
    const inline = this.inlineData(req, fromFile);
    const bufferThread = this.opts.bufferThread;
    if (!inline && bufferThread) {
      ({ tally, estimate: e } = await bufferThread(req.modelType, { kind: 'estimate', options: trainerOptions(req) }));
      checkTrainable(req, tally, []);
    } else {
      // The whole buffer in memory: the estimate hashes every text.
      const { dataset, rejected } = inline ?? { dataset: await this.opts.data.bufferDataset(req.modelType), rejected: [] };
      tally = DatasetTally.of(dataset);
      checkTrainable(req, tally, rejected);
      e = getTrainerModule(req.modelType).estimateMemory?.(dataset.train, dataset.validation, trainerOptions(req)) ?? null;
    }
    const examples = tally.train + tally.validation;
    if (!e) return { model_type: req.modelType, memory_bytes: null, memory_gb: null, basis: `the ${req.modelType} trainer gives no estimate`, examples };
    return { model_type: req.modelType, memory_bytes: e.bytes, memory_gb: toGb(e.bytes), basis: e.basis, examples };
  }

  async status(jobId: string): Promise<Record<string, unknown>> {
    return statusView(await this.mustGet(jobId));
  }

  async list(filter: { status?: string; modelType?: string; limit?: number }): Promise<Record<string, unknown>[]> {
    return (await this.opts.jobs.list(filter)).map(statusView);
  }

  /** GET /api/training/workers: the runners alive now (this reactor's own and `trinity worker`s) and what they train. */
  async workers(): Promise<{ workers: Record<string, unknown>[]; pools: Record<string, number> }> {
    const now = Date.now() / 1000;
    const [live, training] = await Promise.all([this.opts.jobs.roster.live(now), this.opts.jobs.withStatus('training')]);
    const workers = live.map((w) => ({
      worker_id: w.workerId,
      pool: w.pool,
      host: w.host,
      pid: w.pid,
      started_at: iso(w.startedAt),
      seen_at: iso(w.seenAt),
      jobs: training.filter((j) => j.workerId === w.workerId).map((j) => j.jobId),
    }));
    const pools: Record<string, number> = {};
    for (const w of workers) pools[w.pool] = (pools[w.pool] ?? 0) + 1;
    return { workers, pools };
  }

  get(jobId: string): Promise<JobRecord | undefined> {
    return this.opts.jobs.get(checkJobId(jobId));
  }

  eventsSince(jobId: string, afterSeq: number): Promise<JobEvent[]> {
    return this.opts.jobs.eventsSince(jobId, afterSeq);
  }

  /**
   * POST /api/training/cancel/{id}: resolves once the trainer has exited and the job is cancelled. A job
   * another process runs is asked through the database (its runner sees it within a heartbeat); one
   * nobody runs, or whose runner does not answer within CANCEL_WAIT_MS, is fenced off and ended here.
   */
  async cancel(jobId: string): Promise<{ job_id: string; status: 'cancelled'; message: string }> {
    const job = await this.mustGet(jobId);
    if (TERMINAL_JOB_STATUSES.includes(job.status)) throw TrainingJobFinished(jobId, job.status);
    if (!(await this.runner?.cancel(jobId))) {
      const claims = this.opts.jobs.claims;
      // The event is written in the claim's transaction and announced once it has committed.
      let ended: JobEvent | undefined;
      const end = async (tx: Sql) => {
        ended = await this.appendCancelled(jobId, tx);
      };
      const asked = await claims.requestCancel(jobId, Date.now() / 1000, end);
      if (asked === 'asked' && !(await this.endsWithin(jobId, CANCEL_WAIT_MS))) await claims.forceEnd(jobId, end);
      if (ended) this.emit('event', jobId, ended);
    }
    const now = (await this.opts.jobs.get(jobId))!;
    if (now.status !== 'cancelled') throw TrainingJobFinished(jobId, now.status);
    return { job_id: jobId, status: 'cancelled', message: `cancelled at epoch ${now.epoch}` };
  }

  private async endsWithin(jobId: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (TERMINAL_JOB_STATUSES.includes((await this.opts.jobs.get(jobId))!.status)) return true;
      if (Date.now() >= deadline) return false;
      await sleep(CANCEL_POLL_MS);
    }
  }

  /**
   * Starts this process's job runner (when it trains): it claims queued jobs and those interrupted when
   * their runner stopped or died, which resume from their last checkpoint.
   */
  recover(): void {
    this.runner?.start();
  }

  /** What keeps jobs from going on (a full or read-only disk), one line each; empty when all is well. */
  problems(): string[] {
    return this.runner?.problems() ?? [];
  }

  /** Trainer process ids, for memory accounting. */
  trainerPids(): number[] {
    return this.runner?.trainerPids() ?? [];
  }

  /** Jobs this process trains now (0 when training is left to workers). */
  activeJobCount(): number {
    return this.runner?.activeJobCount() ?? 0;
  }

  /** Stops every trainer after it checkpoints its current epoch; the jobs go back for the next runner. */
  close(): Promise<void> {
    this.closing ??= this.runner?.close() ?? Promise.resolve();
    return this.closing;
  }

  private async mustGet(jobId: string): Promise<JobRecord> {
    const job = await this.opts.jobs.get(checkJobId(jobId));
    if (!job) throw TrainingJobNotFound();
    return job;
  }

  /** Inline experiences (request body or drop-box file) as a dataset, or null when the start names none. */
  private inlineData(req: StartRequest, fromFile: unknown[] | undefined): { dataset: Dataset; rejected: { index: number; error: string }[] } | null {
    const raw = req.experiences ?? fromFile;
    if (raw === undefined) return null;
    const { train, validation, rejected } = this.opts.data.inlineDataset(raw, req.modelType);
    return { dataset: { train, validation }, rejected };
  }

  /**
   * A start's data: inline experiences (request body or drop-box file), in memory and counted now, or the
   * buffer's snapshot, counted as it is written: on a thread of its own where the options offer one
   * (SQLite), else page by page between turns of the loop. `maxSeq` is null for inline data.
   */
  private async startData(req: StartRequest, fromFile: unknown[] | undefined): Promise<StartData> {
    const writeFile = this.opts.writeDataset ?? writeDatasetFile;
    const inline = this.inlineData(req, fromFile);
    if (inline) {
      const counted = DatasetTally.of(inline.dataset);
      return { counted, rejected: inline.rejected, write: async (path) => (await writeFile(path, inline.dataset), { tally: counted, maxSeq: null }) };
    }
    const bufferThread = this.opts.bufferThread;
    if (bufferThread) return { counted: null, rejected: [], write: (path) => bufferThread(req.modelType, { kind: 'export', path }) };
    return {
      counted: null,
      rejected: [],
      write: async (path) => {
        const { maxSeq, pages } = await this.opts.data.bufferPages(req.modelType);
        const tally = new DatasetTally();
        await writeFile(path, tallied(pages, tally));
        return { tally, maxSeq };
      },
    };
  }

  /** Removes what a start that failed on a full disk left: its job row (if any) and dataset. */
  private async forgetUnstartedJob(jobId: string, jobDir: string): Promise<void> {
    rmSync(join(jobDir, 'dataset.jsonl'), { force: true });
    try {
      rmdirSync(jobDir); // only if empty: never someone else's files
    } catch {
      // not empty, or never made
    }
    try {
      if ((await this.opts.jobs.get(jobId))?.datasetPath === null) await this.opts.jobs.update(jobId, { status: 'failed', error: 'could not be started: no space for its dataset', completedAt: Date.now() / 1000 });
    } catch {
      // the database is on the same full disk
    }
  }

  private async startResponse(job: JobRecord, message: string): Promise<StartResponse> {
    const perSecond = (await this.opts.jobs.lastSamplesPerSecond(job.modelType)) ?? DEFAULT_SAMPLES_PER_SECOND;
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

  /** The cancelled event of a job nobody runs, in the transaction of the cancel that fenced it off. */
  private async appendCancelled(jobId: string, tx: Sql): Promise<JobEvent> {
    const epoch = (await this.opts.jobs.getIn(tx, jobId))?.epoch ?? 0;
    const patch: JobPatch = { status: 'cancelled', completedAt: Date.now() / 1000 };
    return this.opts.jobs.appendIn(tx, jobId, 'cancelled', { job_id: jobId, status: 'cancelled', epoch }, patch);
  }
}
