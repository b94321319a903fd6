/**
 * Runs claimed training jobs: claims the oldest queued or interrupted job (job-claims.ts) while it has a
 * free slot, runs it in a trainer child process, turns the trainer's reports into the job's event log,
 * registers the finished model, and honours cancels. It runs inside the reactor (TRAINING_WORKERS=reactor,
 * the default) or in `trinity worker` processes sharing the database and TRINITY_ARTIFACT_DIR.
 *
 * Its heartbeat, every min(TTL/3, 1 s), renews each claim and brings back a cancel asked for through the
 * API of any process. Every event it appends is fenced by its claim: once another runner has taken the job
 * (this one stalled past the TTL) or a cancel fenced it off, the append fails, nothing is written, and this
 * runner kills its trainer and lets the job go. A job whose holder died is claimed by another runner once
 * the lease has run out (or at once, on the same host, when the holder's process is provably gone), and
 * its trainer resumes from the last checkpoint.
 *
 * Store calls are async (the store seam, src/store/sql.ts): a job's trainer messages, its exit and the
 * steps that end it run one after another on the job's own chain (Held.chain), so its events keep their
 * order and one step never sees another half done; claiming runs one loop at a time.
 *
 * A full or read-only disk never fails a job: the job stays `training` and claimed, the trouble is listed
 * in `problems()`, and the step that failed is retried every STORAGE_RETRY_MS until it succeeds.
 */
import { EventEmitter } from 'node:events';
import { join, relative } from 'node:path';
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { ClaimLost, TERMINAL_JOB_STATUSES, type JobEvent, type JobPatch, type JobRecord, type JobStore } from './jobs-store.js';
import type { JobClaim, JobClaims } from './job-claims.js';
import type { WorkerRoster } from './worker-roster.js';
import { DEFAULT_WORKER_POOL, type WorkerPool } from '../worker-pools.js';
import { trainerOptions, type StartRequest } from './job-request.js';
import { TrainerChild } from './trainer-child.js';
import { keepaliveTimeoutMs, type ChildMessage, type TrainerJobSpec } from './trainer-protocol.js';
import { storageTrouble } from '../util/fs.js';
import { thisProcess, type ProcessIdentity } from '../util/process-identity.js';
import type { ExportAssessor, TrainingDataPort, TrainingServiceListener, VersionPort } from './training-types.js';
import { metricsOf, round, roundReport, seedFromJobId } from './job-views.js';
import type { ModelType } from '../model-types.js';

/** How often a trainer that died on its own is restarted from its checkpoint before the job fails. */
export const MAX_AUTO_RESUMES = 3;
/** How often a step that failed on a full or read-only disk is tried again. */
export const STORAGE_RETRY_MS = 30_000;
/** The heartbeat at most this far apart: a cancel asked through another process lands within it. */
export const HEARTBEAT_MAX_MS = 1_000;

export interface JobRunnerOptions {
  jobs: JobStore;
  claims: JobClaims;
  data: Pick<TrainingDataPort, 'markTrained'>;
  versions: VersionPort;
  assessor?: ExportAssessor;
  logger: Logger;
  checkpointsRoot: string;
  /** How events name `checkpointsRoot` (e.g. `$JARVIS_HOME/training_checkpoints`). */
  checkpointsName?: string;
  /** Jobs this runner trains at once. */
  maxConcurrentJobs: number;
  autoResume: boolean;
  storageRetryMs?: number;
  /** This runner's name as a claim holder. */
  workerId: string;
  /** Seconds a claim lasts unless renewed (TRAINING_LEASE_TTL). */
  leaseTtlSeconds: number;
  /** The process claims are granted to. Default: this one. */
  owner?: ProcessIdentity;
  /** The pool whose jobs this runner claims (a worker's `--pool`). Default 'local'. */
  pool?: WorkerPool;
  /** Where this runner says it is alive, for placement and the dashboard; none when absent. */
  roster?: WorkerRoster;
}

interface Held {
  claim: JobClaim;
  child: TrainerChild | null;
  stopping: 'cancel' | 'shutdown' | null;
  /** The trainer reported its end (export, cancel, failure): its exit is not a crash. */
  terminal: boolean;
  resumes: number;
  /** The job's steps, in order: trainer messages, its exit, cancels, retries. */
  chain: Promise<void>;
}

export class JobRunner extends EventEmitter {
  private readonly held = new Map<string, Held>();
  /** Jobs held up by a full or read-only disk: what went wrong, and the timer of the next try. */
  private readonly stalled = new Map<string, { problem: string; timer: NodeJS.Timeout }>();
  /** Trouble that did not stop a job (a checkpoint that could not be written), by job. */
  private readonly warnings = new Map<string, string>();
  private readonly owner: ProcessIdentity;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastBeat: Promise<void> | undefined;
  /** The renewals of the last heartbeat while under way: a slow database skips beats, never stacks them. */
  private renewing: Promise<void> | null = null;
  /** The claim loop while it runs, and whether something asked for another pass meanwhile. */
  private filling: Promise<void> | null = null;
  private fillAgain = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: JobRunnerOptions) {
    super();
    this.owner = opts.owner ?? thisProcess();
  }

  override on<E extends keyof TrainingServiceListener>(event: E, listener: TrainingServiceListener[E]): this {
    return super.on(event, listener);
  }

  get workerId(): string {
    return this.opts.workerId;
  }

  get pool(): WorkerPool {
    return this.opts.pool ?? DEFAULT_WORKER_POOL;
  }

  /** Claims what it can now, then beats every min(TTL/3, 1 s). */
  start(): void {
    if (this.heartbeat || this.closing) return;
    const every = Math.max(10, Math.min(HEARTBEAT_MAX_MS, (this.opts.leaseTtlSeconds * 1000) / 3));
    this.heartbeat = setInterval(() => this.beat(), every);
    this.heartbeat.unref();
    this.showAlive();
    void this.fill();
  }

  private showAlive(): void {
    const beat = this.opts.roster?.beat(this.opts.workerId, this.pool, this.owner, this.opts.leaseTtlSeconds, this.now()).catch((err: unknown) => {
      this.opts.logger.warn({ err }, 'could not record this runner as alive; trying again on the next heartbeat');
    });
    if (beat) this.lastBeat = beat;
  }

  /** Looks for work now (a job was just queued); resolves once that look has claimed what it could. */
  poke(): Promise<void> {
    return this.fill();
  }

  /** The jobs this runner holds. */
  jobIds(): string[] {
    return [...this.held.keys()];
  }

  holds(jobId: string): boolean {
    return this.held.has(jobId);
  }

  problems(): string[] {
    return [...[...this.stalled.values()].map((s) => s.problem), ...this.warnings.values()];
  }

  trainerPids(): number[] {
    return [...this.held.values()].map((h) => h.child?.pid).filter((p): p is number => p !== undefined);
  }

  activeJobCount(): number {
    return this.held.size;
  }

  /**
   * Cancels a job this runner holds: the trainer stops (killed after CANCEL_KILL_AFTER_MS) and the job ends
   * `cancelled`. False when it does not hold the job.
   */
  async cancel(jobId: string): Promise<boolean> {
    const h = this.held.get(jobId);
    if (!h) return false;
    if (h.child && !h.child.hasExited) {
      h.stopping = 'cancel';
      await h.child.stop('cancel');
    }
    await this.enqueue(h, () => this.finishCancelledAtStoredEpoch(h));
    return true;
  }

  /** Stops every trainer after it checkpoints its current epoch and gives the jobs back for the next runner. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.heartbeat) clearInterval(this.heartbeat);
      // A claim under way finishes first (and gives its job back at once, seeing this close).
      await this.filling;
      for (const s of this.stalled.values()) clearTimeout(s.timer);
      const held = [...this.held.values()];
      await Promise.all(
        held.map((h) => {
          if (!h.child) return undefined;
          h.stopping = 'shutdown';
          return h.child.stop('shutdown');
        }),
      );
      // The trainers' last messages (their final checkpoint) are written before the jobs go back.
      await Promise.all([this.renewing, ...held.map((h) => h.chain)]);
      for (const h of held) {
        try {
          await this.opts.claims.release(h.claim);
        } catch (err) {
          this.opts.logger.warn({ err, job_id: h.claim.jobId }, 'could not give the job back; it is resumed once its lease runs out');
        }
      }
      this.held.clear();
      try {
        // A beat still on its way (Postgres) must not put the row back after it is gone.
        await this.lastBeat;
        await this.opts.roster?.leave(this.opts.workerId);
      } catch (err) {
        this.opts.logger.warn({ err }, 'could not take this runner off the roster; it drops off once its lease runs out');
      }
    })();
    return this.closing;
  }

  // ── claiming and the heartbeat ─────────────────────────────────────────
  private now(): number {
    return Date.now() / 1000;
  }

  private beat(): void {
    if (this.closing) return;
    this.showAlive();
    if (!this.renewing) {
      this.renewing = this.renewAll().finally(() => {
        this.renewing = null;
      });
    }
    void this.fill();
  }

  private async renewAll(): Promise<void> {
    for (const h of [...this.held.values()]) {
      let renewal;
      try {
        renewal = await this.opts.claims.renew(h.claim, this.opts.leaseTtlSeconds, this.now());
      } catch (err) {
        // A busy database is not a lost claim: the next beat tries again well within the TTL.
        this.opts.logger.warn({ err, job_id: h.claim.jobId }, 'could not renew a job claim');
        continue;
      }
      if (this.held.get(h.claim.jobId) !== h) continue; // ended meanwhile
      if (!renewal.held) this.lose(h, 'its claim was renewed too late and another runner holds it now, or a cancel ended it');
      else {
        h.child?.keepalive();
        if (renewal.cancelRequested && h.stopping !== 'cancel') void this.cancel(h.claim.jobId);
      }
    }
  }

  /**
   * Claims jobs while there are free slots; one loop at a time, a call during it asks for one more pass.
   * Resolves when the loop that covers this call ends.
   */
  private fill(): Promise<void> {
    if (this.closing) return Promise.resolve();
    if (this.filling) {
      this.fillAgain = true;
      return this.filling;
    }
    const loop = async () => {
      try {
        do {
          this.fillAgain = false;
          await this.claimWhileFree();
        } while (this.fillAgain && !this.closing);
      } finally {
        this.filling = null;
      }
    };
    // Started on the next microtask, so `filling` is set before the loop can clear it.
    this.filling = Promise.resolve().then(loop);
    return this.filling;
  }

  private async claimWhileFree(): Promise<void> {
    while (!this.closing && this.held.size < this.opts.maxConcurrentJobs) {
      let claim: JobClaim | null;
      try {
        claim = await this.opts.claims.claimNext(this.opts.workerId, this.owner, this.opts.leaseTtlSeconds, this.now(), this.pool);
      } catch (err) {
        this.opts.logger.warn({ err }, 'could not claim a training job; trying again on the next heartbeat');
        return;
      }
      if (!claim) return;
      if (this.closing) return this.giveBack(claim);
      await this.take(claim);
    }
  }

  private async giveBack(claim: JobClaim): Promise<void> {
    try {
      await this.opts.claims.release(claim);
    } catch (err) {
      this.opts.logger.warn({ err, job_id: claim.jobId }, 'could not give the job back; it is resumed once its lease runs out');
    }
  }

  private take(claim: JobClaim): Promise<void> {
    const h: Held = { claim, child: null, stopping: null, terminal: false, resumes: 0, chain: Promise.resolve() };
    this.held.set(claim.jobId, h);
    this.opts.logger.info({ job_id: claim.jobId, worker_id: claim.workerId, token: claim.token, interrupted: claim.interrupted }, 'claimed training job');
    return this.enqueue(h, async () => {
      const job = (await this.opts.jobs.get(claim.jobId))!;
      if (claim.interrupted && !this.opts.autoResume) {
        await this.fail(h, 'the job was interrupted while training and AUTO_RESUME_FAILED_TRAINING is off');
      } else if (job.datasetPath === null) {
        // Accepted before this version checked its dataset write (a full disk at start): nothing to train on.
        await this.fail(h, 'the job has no dataset file (it could not be written when the job was started); start it again');
      } else {
        if (claim.interrupted) this.opts.logger.info({ job_id: job.jobId, epoch: job.epoch }, 'resuming interrupted training job');
        this.launch(h, job);
      }
    });
  }

  /** Lets a job go whose claim is no longer this runner's: its trainer is killed, nothing more is written. */
  private lose(h: Held, why: string): void {
    if (this.held.get(h.claim.jobId) !== h) return;
    this.held.delete(h.claim.jobId);
    this.clearTrouble(h.claim.jobId);
    h.terminal = true;
    h.child?.kill();
    this.opts.logger.warn({ job_id: h.claim.jobId, worker_id: h.claim.workerId, token: h.claim.token }, `gave up the job: ${why}`);
    void this.fill();
  }

  /**
   * Runs a step of the job after the ones before it. A lost claim lets the job go; any other error (the
   * database failing) is logged and lets it go too: its lease runs out and a runner resumes it from its
   * checkpoint, instead of the job sitting claimed by a runner that can no longer write it.
   */
  private enqueue(h: Held, step: () => Promise<void>): Promise<void> {
    h.chain = h.chain.then(step).catch((err: unknown) => {
      if (!(err instanceof ClaimLost)) this.opts.logger.error({ err, job_id: h.claim.jobId }, 'a step of the training job failed');
      this.lose(h, (err as Error).message);
    });
    return h.chain;
  }

  // ── the trainer ────────────────────────────────────────────────────────
  /** The job's dataset under this runner's checkpoints root (the stored path may be another host's). */
  private datasetPath(jobId: string): string {
    return join(this.opts.checkpointsRoot, jobId, 'dataset.jsonl');
  }

  private launch(h: Held, job: JobRecord): void {
    const req = job.request as unknown as StartRequest;
    const spec: TrainerJobSpec = {
      jobId: job.jobId,
      modelType: job.modelType as ModelType,
      datasetPath: this.datasetPath(job.jobId),
      options: { ...trainerOptions(req), epochs: job.totalEpochs },
      seed: req.seed ?? seedFromJobId(job.jobId),
      checkpointsRoot: this.opts.checkpointsRoot,
      checkpointEnabled: req.checkpointEnabled,
      checkpointInterval: req.checkpointInterval,
      exportDir: join(this.opts.checkpointsRoot, job.jobId, 'export'),
      resume: true,
      keepaliveTimeoutMs: keepaliveTimeoutMs(this.opts.leaseTtlSeconds),
    };
    const child = new TrainerChild(spec);
    h.child = child;
    h.terminal = false;
    h.stopping = null;
    child.on('message', (msg) => {
      void this.enqueue(h, () =>
        this.onChildMessage(h, msg).catch(async (err: unknown) => {
          if (err instanceof ClaimLost) throw err;
          this.opts.logger.error({ err, job_id: job.jobId }, 'handling trainer message failed');
          h.terminal = true;
          child.kill();
          await this.fail(h, `could not finish the job: ${(err as Error).message}`);
        }),
      );
    });
    child.on('exit', (code, signal) => void this.enqueue(h, () => this.onChildExit(h, child, code, signal)));
    this.opts.logger.info({ job_id: job.jobId, pid: child.pid, model_type: job.modelType, worker_id: this.opts.workerId }, 'trainer started');
  }

  private shownCheckpoint(path: string): string {
    return `${this.opts.checkpointsName ?? '$TRAINING_CHECKPOINT_DIR'}/${relative(this.opts.checkpointsRoot, path)}`;
  }

  private async append(h: Held, event: string, data: Record<string, unknown>, patch?: JobPatch): Promise<void> {
    const e: JobEvent = await this.opts.jobs.appendEvent(h.claim.jobId, event, data, patch, { workerId: h.claim.workerId, token: h.claim.token });
    this.emit('event', h.claim.jobId, e);
  }

  private async onChildMessage(h: Held, msg: ChildMessage): Promise<void> {
    const jobId = h.claim.jobId;
    if (this.held.get(jobId) !== h) return; // let go meanwhile: nothing more is written
    switch (msg.type) {
      case 'ready':
        return;
      case 'started':
        if (msg.resumedFromEpoch !== null) {
          await this.append(
            h,
            'status',
            { job_id: jobId, status: 'training', epoch: msg.resumedFromEpoch, resumed_from_epoch: msg.resumedFromEpoch, message: `resumed from epoch ${msg.resumedFromEpoch}` },
            { resumedFromEpoch: msg.resumedFromEpoch, epoch: msg.resumedFromEpoch },
          );
        }
        return;
      case 'epoch':
        await this.append(h, 'status', { job_id: jobId, status: 'training', ...roundReport(msg.report) }, { epoch: msg.report.epoch, metrics: metricsOf(msg.report) });
        return;
      case 'checkpoint_skipped':
        this.opts.logger.warn({ job_id: jobId, epoch: msg.epoch, set_aside: msg.path, reason: msg.reason }, 'damaged checkpoint skipped');
        await this.append(h, 'status', {
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
        await this.append(h, 'status', { job_id: jobId, status: 'training', epoch: msg.epoch, message: problem });
        return;
      }
      case 'notice':
        this.opts.logger.info({ job_id: jobId }, msg.message);
        return;
      case 'checkpoint':
        this.warnings.delete(jobId);
        await this.append(
          h,
          'checkpoint',
          { job_id: jobId, epoch: msg.epoch, checkpoint_path: this.shownCheckpoint(msg.path), metrics: metricsOf(msg.metrics) },
          { checkpoint: { epoch: msg.epoch, checkpoint_path: this.shownCheckpoint(msg.path) } },
        );
        return;
      case 'exported':
        h.terminal = true;
        await this.register(h, msg);
        return;
      case 'stopped':
        if (msg.reason === 'cancel') {
          h.terminal = true;
          await this.finishCancelled(h, msg.epoch);
        }
        return;
      case 'failed':
        h.terminal = true;
        if (msg.code) await this.stall(h, `its trainer stopped: ${msg.error}`, () => this.relaunch(h));
        else await this.fail(h, msg.error);
        return;
    }
  }

  private async relaunch(h: Held): Promise<void> {
    if (this.closing || this.held.get(h.claim.jobId) !== h) return;
    const job = await this.opts.jobs.get(h.claim.jobId);
    if (!job || TERMINAL_JOB_STATUSES.includes(job.status)) return this.end(h);
    this.launch(h, job);
  }

  private async onChildExit(h: Held, child: TrainerChild, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (h.child === child) h.child = null;
    if (this.held.get(h.claim.jobId) !== h || h.stopping === 'shutdown') return;
    const jobId = h.claim.jobId;
    // A trainer killed for not stopping in time: the job is cancelled before anything can relaunch it.
    if (!h.terminal && h.stopping === 'cancel') {
      h.terminal = true;
      return this.finishCancelledAtStoredEpoch(h);
    }
    if (h.terminal) return; // registering, stalled or ended: those steps let the job go
    const why = signal ? `killed by ${signal}` : `exit code ${code}`;
    h.resumes += 1;
    if (this.opts.autoResume && h.resumes <= MAX_AUTO_RESUMES && !this.closing) {
      this.opts.logger.warn({ job_id: jobId, attempt: h.resumes }, `trainer ${why}; resuming from the last checkpoint`);
      await this.relaunch(h);
    } else {
      await this.fail(h, `trainer process ${why}`);
    }
  }

  // ── the end of a job ───────────────────────────────────────────────────
  /** Registers an export; a full or read-only disk keeps the export and retries later. */
  private async register(h: Held, msg: Extract<ChildMessage, { type: 'exported' }>): Promise<void> {
    try {
      await this.complete(h, msg);
    } catch (err) {
      if (err instanceof ClaimLost || storageTrouble(err) === null) throw err;
      await this.stall(h, `registering its model failed: ${(err as Error).message}`, () =>
        this.register(h, msg).catch(async (e: unknown) => {
          if (e instanceof ClaimLost) throw e;
          await this.fail(h, `could not finish the job: ${(e as Error).message}`);
        }),
      );
    }
  }

  /**
   * Holds a job up until the disk is fixed: listed in problems(), reported in its event log, and `retry`
   * runs after STORAGE_RETRY_MS, on the job's chain. The job stays `training` and claimed, so a restart
   * resumes it.
   */
  private async stall(h: Held, what: string, retry: () => Promise<void>): Promise<void> {
    const jobId = h.claim.jobId;
    const every = this.opts.storageRetryMs ?? STORAGE_RETRY_MS;
    const problem = `job ${jobId} waits for disk space or a writable folder: ${what}; retrying every ${every / 1000} s`;
    const timer = setTimeout(() => {
      this.stalled.delete(jobId);
      void this.enqueue(h, retry);
    }, every);
    this.stalled.set(jobId, { problem, timer });
    this.opts.logger.error({ job_id: jobId }, problem);
    await this.append(h, 'status', { job_id: jobId, status: 'training', message: problem });
  }

  private async complete(h: Held, msg: Extract<ChildMessage, { type: 'exported' }>): Promise<void> {
    const jobId = h.claim.jobId;
    const job = (await this.opts.jobs.get(jobId))!;
    if (job.workerId !== h.claim.workerId) throw new ClaimLost(jobId, { workerId: h.claim.workerId, token: h.claim.token });
    const metrics = metricsOf(msg.metrics);
    const extra = await this.assessExport(job, msg.dir);
    // A stale holder that gets here registers nothing new: a job registers at most one version.
    const { version } = await this.opts.versions.register({
      modelType: job.modelType as ModelType,
      jobId,
      sourceDir: msg.dir,
      metrics: { ...metrics, samples_per_second: msg.metrics.samples_per_second, epochs: msg.epochs },
      counts: { train: msg.trainSize, validation: msg.validationSize },
      extra,
    });
    if (job.bufferMaxSeq !== null) await this.opts.data.markTrained(job.modelType as ModelType, job.bufferMaxSeq);
    await this.append(
      h,
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
    rmSync(msg.dir, { recursive: true, force: true });
    this.opts.logger.info({ job_id: jobId, model_version: version, ...metrics }, 'training job completed');
    this.end(h);
  }

  /** The assessor's manifest fields; a failure is logged and recorded there, never fails the job. */
  private async assessExport(job: JobRecord, exportDir: string): Promise<Record<string, unknown> | undefined> {
    const { assessor, logger } = this.opts;
    if (!assessor || job.datasetPath === null) return undefined;
    try {
      return await assessor.assessExport({ modelType: job.modelType as ModelType, jobId: job.jobId, exportDir, datasetPath: this.datasetPath(job.jobId) });
    } catch (err) {
      logger.warn({ err, job_id: job.jobId }, 'evaluating the new version failed; registering it without figures');
      return { evaluation: { error: err instanceof Error ? err.message : String(err) } };
    }
  }

  /** Forgets a job that ended (or was let go), and looks for the next one. */
  private end(h: Held): void {
    this.clearTrouble(h.claim.jobId);
    if (this.held.get(h.claim.jobId) === h) this.held.delete(h.claim.jobId);
    void this.fill();
  }

  private clearTrouble(jobId: string): void {
    const stalled = this.stalled.get(jobId);
    if (stalled) clearTimeout(stalled.timer);
    this.stalled.delete(jobId);
    this.warnings.delete(jobId);
  }

  private async finishCancelledAtStoredEpoch(h: Held): Promise<void> {
    if (this.held.get(h.claim.jobId) !== h) return;
    await this.finishCancelled(h, (await this.opts.jobs.get(h.claim.jobId))?.epoch ?? 0);
  }

  private async finishCancelled(h: Held, epoch: number): Promise<void> {
    if (this.held.get(h.claim.jobId) !== h) return;
    await this.append(h, 'cancelled', { job_id: h.claim.jobId, status: 'cancelled', epoch }, { status: 'cancelled', completedAt: Date.now() / 1000 });
    this.end(h);
  }

  private async fail(h: Held, error: string): Promise<void> {
    await this.append(h, 'failed', { job_id: h.claim.jobId, status: 'failed', error }, { status: 'failed', error, completedAt: Date.now() / 1000 });
    this.opts.logger.error({ job_id: h.claim.jobId, error }, 'training job failed');
    this.end(h);
  }
}
