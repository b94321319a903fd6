/**
 * One claimed job, from its lease to its end (CONTRACT §6): keep the lease alive → choose local or cloud →
 * reserve resources (local only) → start at reactor with the fencing token → follow its stream → deploy
 * on completion, or retry once on failure → write the outcome and release the lease in one step.
 * A job whose reactor job a previous holder started is followed (or deployed) rather than started again.
 */
import { ReactorHttpError, type JobEvent, type TerminalJobEvent } from '../client/index.js';
import { CoordinatorLeaseLost, CoordinatorReactorUnavailable, CoordinatorSlotTimeout, TrinityError } from '../errors.js';
import { deployBody, requestDeployment } from './after-training.js';
import { followToEnd } from './follow.js';
import { jobMemoryNeed } from './memory-need.js';
import type { RunContext } from './job-runner.js';
import { estimateDataSize, decidePlacement } from './placement.js';
import { describeError, isOutage, type ReactorLink } from './reactor-link.js';
import type { AttemptRecord, CoordinatorJob, JobDetails, Lease, Placement, RunOutcome } from './types.js';

const STALE_TOKEN = 'TRN_ERR_TRAINING_STALE_FENCING_TOKEN';

/** Thrown inside a run to send the job back to the queue with a reason. */
class Requeue extends Error {}
/** Thrown inside a run when reactor refused the start for good (400: no data, no trainer). */
class Refused extends Error {}

const isoNow = () => new Date().toISOString();

export class JobRun {
  private details: JobDetails;
  private token: number;
  private readonly lost = new AbortController();
  /** The job's writes, one after another (see patch); never rejects. */
  private writes: Promise<void> = Promise.resolve();
  private writeError: unknown = null;

  constructor(
    private readonly ctx: RunContext,
    private job: CoordinatorJob,
    private readonly lease: Lease,
  ) {
    this.details = { ...job.details };
    this.token = lease.token;
  }

  async execute(closeSignal: AbortSignal): Promise<RunOutcome> {
    const keep = this.ctx.lock.keepAlive(this.lease, () => this.lost.abort(CoordinatorLeaseLost(this.lease.name, this.lease.holder, this.token)));
    const signal = AbortSignal.any([closeSignal, this.lost.signal]);
    let outcome: RunOutcome;
    try {
      outcome = await this.run(signal);
    } catch (err) {
      outcome = this.outcomeOf(err, closeSignal);
    } finally {
      keep.stop();
    }
    await this.apply(outcome);
    this.ctx.events.emit('finished', this.job, outcome);
    return outcome;
  }

  private async run(signal: AbortSignal): Promise<RunOutcome> {
    const placement = this.details.placement ?? (await this.place(signal));
    const link = placement.target === 'cloud' && this.ctx.links.cloud ? this.ctx.links.cloud : this.ctx.links.local;
    let terminal = this.job.reactorJobId ? await this.resume(link, this.job.reactorJobId, signal) : undefined;
    for (;;) {
      if (!terminal) {
        const id = this.nextReactorJobId();
        if (placement.target === 'local') await this.reserve(link, signal);
        await this.start(link, id, signal);
        terminal = await this.follow(link, id, signal);
      }
      const reactorJobId = this.job.reactorJobId!;
      if (terminal.event === 'completed') {
        this.endAttempt(reactorJobId, 'completed');
        const version = terminal.data.model_version ?? null;
        this.details = { ...this.details, metrics: { ...(terminal.data.metrics ?? {}) }, phase: 'deploying' };
        this.patch({ modelVersion: version, details: this.details, waitingReason: null });
        await this.saved();
        if (version) await this.deploy(link, version, reactorJobId, signal);
        return { kind: 'completed', modelVersion: version };
      }
      const error = terminal.event === 'failed' ? (terminal.data.error ?? 'training failed') : 'cancelled at Reactor-Core';
      this.endAttempt(reactorJobId, terminal.event === 'failed' ? 'failed' : 'cancelled', error);
      const failures = (this.details.attempts ?? []).filter((a) => a.status === 'failed').length;
      this.patch({ error: this.job.error ?? error });
      await this.saved();
      if (terminal.event !== 'failed' || !this.ctx.autoResume || failures > 1) return { kind: 'failed', error };
      terminal = undefined;
    }
  }

  /** Attempt n > 1 needs its own id: reactor answers the existing (failed) job for a repeated job_id. */
  private nextReactorJobId(): string {
    const n = (this.details.attempts ?? []).length;
    return n === 0 ? this.job.jobId : `${this.job.jobId}-retry${n}`;
  }

  private async place(signal: AbortSignal): Promise<Placement> {
    const stats = await this.ctx.links.local.experienceStats(signal).catch(() => undefined);
    const usable = stats?.[this.job.modelType]?.usable ?? undefined;
    const size = estimateDataSize(usable ?? undefined, await this.ctx.forwarded(this.job.modelType));
    const pools = await this.ctx.links.local.workerPools(signal);
    const placement = decidePlacement(this.ctx.placement, size, pools);
    this.details.placement = placement;
    this.patch({ details: this.details });
    await this.saved();
    this.ctx.events.emit('placed', this.job, placement);
    return placement;
  }

  /** Waits until the machine has the job's memory need free (its trainer's estimate unless TRAINING_MEMORY_RESERVE_GB is set). */
  private async reserve(link: ReactorLink, signal: AbortSignal): Promise<void> {
    this.details.phase = 'waiting_for_resources';
    this.patch({ details: this.details });
    await this.saved();
    const body = this.startBody(this.job.jobId);
    const needOf = (s?: AbortSignal) => jobMemoryNeed(link, body, this.ctx.memoryReserveGb, s);
    const r = await this.ctx.gate.reserve(needOf, (reason) => this.waiting(reason), signal);
    this.ctx.events.emit('reserved', this.job, r.summary);
  }

  private async start(link: ReactorLink, id: string, signal: AbortSignal): Promise<void> {
    const attempt: AttemptRecord = { reactor_job_id: id, status: 'started', fencing_token: this.token, started_at: isoNow() };
    if (id !== this.job.jobId) attempt.note = 'retry after failure: a new reactor job id, because reactor answers the failed job for a repeated one; it trains anew on the buffer';
    this.details = { ...this.details, phase: 'starting', attempts: [...(this.details.attempts ?? []), attempt] };
    this.patch({ reactorJobId: id, details: this.details, waitingReason: null });
    await this.saved();
    for (let retokened = false; ; retokened = true) {
      const body = { ...this.startBody(id), fencing_token: this.token };
      try {
        await link.startTraining(body, signal);
        this.ctx.events.emit('started', this.job, id, this.token);
        return;
      } catch (err) {
        if (!(err instanceof ReactorHttpError) || signal.aborted) throw err;
        if (err.status === 409 && err.code === STALE_TOKEN) {
          // Another holder's start reached reactor first (possible with MAX_CONCURRENT_TRAINING_JOBS > 1), or
          // reactor saw tokens from elsewhere: a fresh grant above what it has seen settles it in one retry.
          const seen = typeof err.body?.seen === 'number' ? err.body.seen : 0;
          const fresh = retokened ? null : await this.ctx.lock.retoken(this.lease.holder, seen);
          if (fresh === null) throw new Requeue(`requeued: reactor refused fencing token ${this.token} (seen ${String(err.body?.seen)})`);
          this.token = fresh;
          this.setAttemptToken(id, fresh);
          continue;
        }
        if (err.status === 503) throw new Requeue(`waiting: Reactor-Core cannot take the job now (${err.message})`);
        this.endAttempt(id, 'refused', err.message);
        throw new Refused(`Reactor-Core refused the start: ${err.message}`);
      }
    }
  }

  /** What reactor is asked to start (and to estimate) for reactor job `id`, without the fencing token. */
  private startBody(id: string) {
    return {
      job_id: id,
      model_type: this.job.modelType,
      ...(this.job.epochs === null ? {} : { epochs: this.job.epochs }),
      checkpoint_enabled: true,
      checkpoint_interval: this.ctx.checkpointInterval,
      ...(this.details.placement?.pool === undefined ? {} : { worker_pool: this.details.placement.pool }),
    };
  }

  /** The reactor job a previous holder started: follow it, or take its end; undefined when reactor never saw it. */
  private async resume(link: ReactorLink, id: string, signal: AbortSignal): Promise<TerminalJobEvent | undefined> {
    let s;
    try {
      s = await link.status(id, signal);
    } catch (err) {
      if (!(err instanceof ReactorHttpError && err.status === 404)) throw err;
      // The start never reached reactor (it was down, or this process stopped first): the attempt did not
      // happen, so the next start reuses its id.
      this.details = { ...this.details, attempts: (this.details.attempts ?? []).filter((a) => !(a.reactor_job_id === id && a.status === 'started')) };
      return undefined;
    }
    const data = { job_id: id, status: s.status };
    if (s.status === 'completed') return { id: undefined, event: 'completed', data: { ...data, model_version: s.model_version, metrics: s.metrics } };
    if (s.status === 'failed') return { id: undefined, event: 'failed', data: { ...data, error: s.error } };
    if (s.status === 'cancelled') return { id: undefined, event: 'cancelled', data };
    this.ctx.events.emit('resumed', this.job, id);
    return this.follow(link, id, signal);
  }

  private follow(link: ReactorLink, id: string, signal: AbortSignal): Promise<TerminalJobEvent> {
    return followToEnd(link, id, {
      signal,
      timeoutMs: this.ctx.jobTimeoutMs,
      retryIntervalMs: this.ctx.retryIntervalMs,
      onEvent: (e) => this.onEvent(e),
      onWaiting: (reason) => (reason === null ? this.patch({ waitingReason: null }) : this.waiting(reason)),
    });
  }

  private onEvent(e: JobEvent): void {
    if (e.event === 'queued') return this.waiting('waiting: queued at Reactor-Core');
    if (e.event !== 'status') return;
    const d = e.data;
    this.details.phase = 'training';
    this.details.progress = { epoch: d.epoch, total_epochs: d.total_epochs, loss: d.loss, accuracy: d.accuracy, val_accuracy: d.val_accuracy };
    this.patch({ details: this.details, waitingReason: null });
    this.ctx.events.emit('progress', this.job, this.details.progress);
  }

  private async deploy(link: ReactorLink, version: string, reactorJobId: string, signal: AbortSignal): Promise<void> {
    const body = deployBody(this.ctx.deployPolicy, this.job.modelType, version, `${reactorJobId}-deploy`);
    const record = await requestDeployment(link, body, signal);
    this.details.deployment = record;
    this.patch({ details: this.details });
    await this.saved();
    this.ctx.events.emit('deployed', this.job, record);
  }

  private waiting(raw: string): void {
    const n = this.details.give_ups ?? 0;
    const reason = n === 0 ? raw : `${raw} (gave up ${n} time${n === 1 ? '' : 's'} before after TRAINING_SLOT_TIMEOUT; trying again)`;
    this.patch({ waitingReason: reason });
    this.ctx.events.emit('waiting', this.job, reason);
  }

  private endAttempt(id: string, status: AttemptRecord['status'], error?: string): void {
    const attempts = (this.details.attempts ?? []).map((a) => (a.reactor_job_id === id && a.status === 'started' ? { ...a, status, ended_at: isoNow(), ...(error ? { error } : {}) } : a));
    this.details = { ...this.details, attempts };
    this.patch({ details: this.details });
  }

  private setAttemptToken(id: string, token: number): void {
    const attempts = (this.details.attempts ?? []).map((a) => (a.reactor_job_id === id ? { ...a, fencing_token: token } : a));
    this.details = { ...this.details, attempts };
    this.patch({ details: this.details, fencingToken: token });
  }

  /**
   * Changes the job here at once and queues its write behind the ones before: progress and waiting
   * reasons come from callbacks that cannot wait, and on Postgres two writes in flight on two pooled
   * connections could land out of order. A failed write is thrown by the next `saved()`.
   */
  private patch(p: Parameters<RunContext['store']['updateRunning']>[2]): void {
    const { jobId } = this.job;
    const now = this.ctx.now() / 1000;
    this.writes = this.writes
      .then(() => this.ctx.store.updateRunning(jobId, this.lease.holder, p, now))
      .then(
        () => undefined,
        (err: unknown) => void (this.writeError ??= err),
      );
    this.job = { ...this.job, ...p, details: p.details ?? this.job.details };
  }

  /** Waits for the queued writes; throws the first that failed (once). */
  private async saved(): Promise<void> {
    await this.writes;
    const err = this.writeError;
    this.writeError = null;
    if (err !== null) throw err;
  }

  private outcomeOf(err: unknown, closeSignal: AbortSignal): RunOutcome {
    if (this.lost.signal.aborted) return { kind: 'lost', reason: describeError(this.lost.signal.reason) };
    if (closeSignal.aborted) return { kind: 'requeued', reason: 'requeued: jarvis stopped while running it; a reactor job it started carries on and is followed again' };
    if (err instanceof Requeue) return { kind: 'requeued', reason: err.message };
    if (err instanceof TrinityError && err.code === CoordinatorSlotTimeout.code) {
      this.details.give_ups = (this.details.give_ups ?? 0) + 1;
      return { kind: 'requeued', reason: `${err.message}; it stays queued and tries again` };
    }
    if (isOutage(err)) {
      const url = this.details.placement?.reactor_url ?? this.ctx.links.local.baseUrl;
      return { kind: 'requeued', reason: `waiting: ${CoordinatorReactorUnavailable(url, describeError(err)).message}` };
    }
    return { kind: 'failed', error: describeError(err) };
  }

  private async apply(outcome: RunOutcome): Promise<void> {
    const { store, lock } = this.ctx;
    // The last progress write lands before the outcome, never after it; the outcome carries every detail.
    await this.writes;
    const now = this.ctx.now() / 1000;
    const details = { ...this.details };
    delete details.phase;
    if (outcome.kind === 'completed') await store.finish(lock.name, this.job.jobId, this.lease.holder, { status: 'completed', error: null, details }, now);
    else if (outcome.kind === 'failed') await store.finish(lock.name, this.job.jobId, this.lease.holder, { status: 'failed', error: outcome.error, details }, now);
    else if (outcome.kind === 'requeued') await store.requeue(lock.name, this.job.jobId, this.lease.holder, outcome.reason, details, now);
  }
}
