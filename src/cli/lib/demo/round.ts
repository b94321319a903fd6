/**
 * One round of the demo: send experiences to JARVIS, then report each step of the loop as the services
 * report it — forwarded, queued, waiting (JARVIS's reason), training (reactor's job stream), registered,
 * deployed or refused, served by J-Prime. Every wait has a bound; a step that cannot happen stops the
 * demo with what to do next.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReactorClient } from '../../../client/index.js';
import { fmtNum } from '../format.js';
import { formatProgressLine } from '../progress-line.js';
import {
  acceptedSchema,
  deploymentSchema,
  DemoStopped,
  experienceStatsSchema,
  jarvisHealthSchema,
  jarvisJobSchema,
  jarvisJobsSchema,
  primeModelsSchema,
  versionDetailsSchema,
  type JarvisJob,
  type PrimeSplit,
  type ServiceApi,
} from './api.js';
import type { DemoRound } from './data.js';
import { hopelessWait } from './hopeless-wait.js';
import type { DemoReport } from './report.js';

export const MODEL_TYPE = 'nlu';

export interface DemoServices {
  jarvis: ServiceApi;
  reactor: ServiceApi;
  prime: ServiceApi;
  /** Follows a training job's event stream (reconnects, falls back to polling its status). */
  reactorClient: ReactorClient;
}

export interface DemoLimits {
  /** MIN_EXPERIENCES_FOR_TRAINING, as the demo's environment sets it. */
  minExperiences: number;
  /** --timeout in ms: from a job queued to its version deployed. */
  timeoutMs: number;
  /** The host's memory, to recognise a wait for more memory than it has. */
  hostTotalGb: number | null;
}

/** What the deploy after training did. */
export type DeployOutcome = 'live' | 'rollout' | 'refused';

export interface RoundResult {
  version: string;
  outcome: DeployOutcome;
}

const POLL_MS = 250;
/** Forwarding takes seconds; this long without one more experience arriving means it is stuck. */
const FORWARD_STALL_MS = 60_000;
/** The auto-trigger reacts within seconds of a type passing MIN_EXPERIENCES_FOR_TRAINING. */
const QUEUE_WITHIN_MS = 60_000;
/** Reactor pushes a new split within a tick and J-Prime reconciles every few seconds. */
const SERVE_WITHIN_MS = 60_000;

/** Calls `check` every POLL_MS until it gives a value; once `deadline()` has passed, throws `stalled()`. */
async function pollUntil<T>(check: () => Promise<T | undefined>, deadline: () => number, stalled: () => Error | Promise<Error>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline()) throw await stalled();
    await sleep(POLL_MS);
  }
}

const seconds = (ms: number) => Math.round(ms / 1000);

export class DemoRoundRunner {
  constructor(
    private readonly s: DemoServices,
    private readonly limits: DemoLimits,
    private readonly report: DemoReport,
  ) {}

  async run(round: DemoRound): Promise<RoundResult> {
    const known = new Set((await this.jarvisJobs()).map((j) => j.job_id));
    const before = await this.nluStats();
    const filesBefore = (await this.s.jarvis.get('/health', jarvisHealthSchema)).outbox?.files_written ?? 0;
    const accepted = await this.send(round);
    const { thresholdAt, newCount } = await this.forwarded(accepted, before.total, filesBefore);
    const queued = await this.queued(known, thresholdAt, newCount);
    const deadline = Date.now() + this.limits.timeoutMs;
    const started = await this.started(queued, deadline);
    const version = started.model_version ?? (await this.trained(started.reactor_job_id!, deadline));
    await this.registered(version);
    const outcome = await this.deployed(queued.job_id, version, deadline);
    await this.serving(version, outcome);
    return { version, outcome };
  }

  private async send(round: DemoRound): Promise<number> {
    const res = await this.s.jarvis.post('/api/experiences', { experiences: round.experiences }, acceptedSchema);
    const perIntent = [...round.intents.values()];
    this.report.step(
      'sent',
      `${round.experiences.length} experiences to JARVIS: ${round.intents.size} intents, ${Math.min(...perIntent)}–${Math.max(...perIntent)} of each`,
    );
    if (res.rejected.length > 0) this.report.more(`JARVIS refused ${res.rejected.length}, the first (#${res.rejected[0].index}): ${res.rejected[0].error}`);
    if (res.accepted === 0) throw new DemoStopped('JARVIS accepted none of the experiences', 'check --csv: it needs text and intent columns');
    return res.accepted;
  }

  /** Until Reactor-Core holds every accepted experience; notes when the type passed the training threshold. */
  private async forwarded(accepted: number, totalBefore: number, filesBefore: number): Promise<{ thresholdAt: number; newCount: number }> {
    let thresholdAt: number | undefined;
    let progressAt = Date.now();
    let mark = '';
    let pending = 0;
    let lastError: string | null | undefined;
    let arrived = 0;
    const done = await pollUntil(
      async () => {
        const health = await this.s.jarvis.get('/health', jarvisHealthSchema);
        const stats = await this.nluStats();
        pending = health.outbox?.pending ?? 0;
        lastError = health.outbox?.last_error;
        arrived = stats.total - totalBefore;
        thresholdAt ??= stats.new_since_last_training >= this.limits.minExperiences ? Date.now() : undefined;
        if (`${arrived}/${pending}` !== mark) {
          mark = `${arrived}/${pending}`;
          progressAt = Date.now();
        }
        return arrived >= accepted ? { stats, files: (health.outbox?.files_written ?? filesBefore) - filesBefore } : undefined;
      },
      () => progressAt + FORWARD_STALL_MS,
      () =>
        pending > 0
          ? new DemoStopped(`JARVIS has not written ${pending} experiences to Reactor-Core's events folder for ${seconds(FORWARD_STALL_MS)} s${lastError ? `: ${lastError}` : ''}`, "see JARVIS's log in the `npx trinity up` terminal")
          : new DemoStopped(`Reactor-Core has taken in ${arrived} of the ${accepted} experiences JARVIS wrote to its events folder, none for ${seconds(FORWARD_STALL_MS)} s`, "see Reactor-Core's log in the `npx trinity up` terminal"),
    );
    const fresh = done.stats.new_since_last_training;
    this.report.step('forwarded', `JARVIS wrote them to Reactor-Core's events folder (${done.files} files); Reactor-Core has ${fresh} new ${MODEL_TYPE} experiences`);
    this.report.more(`JARVIS trains a model type once it has ${this.limits.minExperiences} new experiences (MIN_EXPERIENCES_FOR_TRAINING)`);
    return { thresholdAt: thresholdAt ?? Date.now(), newCount: fresh };
  }

  private async queued(known: ReadonlySet<string>, thresholdAt: number, newCount: number): Promise<JarvisJob> {
    const job = await pollUntil(
      async () => (await this.jarvisJobs()).find((j) => j.model_type === MODEL_TYPE && !known.has(j.job_id)),
      () => thresholdAt + QUEUE_WITHIN_MS,
      async () =>
        new DemoStopped(
          `JARVIS queued no ${MODEL_TYPE} training job within ${seconds(QUEUE_WITHIN_MS)} s although Reactor-Core has ${newCount} new ${MODEL_TYPE} experiences (MIN_EXPERIENCES_FOR_TRAINING ${this.limits.minExperiences}); ${await this.autoTriggerLastLook()}`,
          `\`npx trinity doctor\` says what would stop training here; to train now: curl -X POST ${this.s.jarvis.baseUrl}/api/training/trigger -H 'content-type: application/json' -d '{"model_type":"${MODEL_TYPE}"}'`,
        ),
    );
    const by = job.source === 'auto' ? "JARVIS's auto-trigger" : 'a manual trigger';
    this.report.step('queued', `training job ${job.job_id} (${by}, priority ${job.priority})`);
    return job;
  }

  /** Until reactor trains the job, printing each reason JARVIS gives for holding it back. */
  private async started(queued: JarvisJob, deadline: number): Promise<JarvisJob> {
    let lastReason: string | undefined;
    return pollUntil(
      async () => {
        const job = await this.jarvisJob(queued.job_id);
        const reason = job.status === 'queued' || job.phase === 'waiting_for_resources' ? job.waiting_reason?.replace(/^waiting: /, '') : undefined;
        if (reason && reason !== lastReason) {
          lastReason = reason;
          this.report.step('waiting', reason);
          const hopeless = hopelessWait(reason, { hostTotalGb: this.limits.hostTotalGb });
          if (hopeless) throw new DemoStopped(hopeless.why, hopeless.fix);
        }
        const training = job.phase === 'training' || job.phase === 'deploying' || job.status === 'completed';
        return job.reactor_job_id && training ? job : undefined;
      },
      () => deadline,
      () =>
        new DemoStopped(
          `job ${queued.job_id} has not started training within --timeout ${seconds(this.limits.timeoutMs)} s${lastReason ? `; JARVIS's last reason: ${lastReason}` : ''}`,
          '`npx trinity doctor` says what would stop training here; or allow more time with --timeout',
        ),
    );
  }

  /** Follows reactor's job stream to its end: the epochs as they finish, then the new version. */
  private async trained(reactorJobId: string, deadline: number): Promise<string> {
    const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
    const end = await this.s.reactorClient.streamJob(reactorJobId, {
      signal,
      onEvent: (e) => {
        if (e.event !== 'status') return;
        const d = e.data;
        const state = { epoch: d.epoch ?? 0, totalEpochs: d.total_epochs ?? 0, loss: d.loss, accuracy: d.accuracy, valAccuracy: d.val_accuracy, etaSeconds: d.eta_seconds };
        this.report.live('training', this.report.isLive ? formatProgressLine(state, this.report.barWidth) : `epoch ${state.epoch}/${state.totalEpochs}  loss ${fmtNum(d.loss, 3)}  accuracy ${fmtNum(d.accuracy, 3)}  val accuracy ${fmtNum(d.val_accuracy, 3)}`);
      },
    });
    const status = `npx trinity status ${reactorJobId} --url ${this.s.reactorClient.baseUrl}`;
    if (end.reason === 'aborted') throw new DemoStopped(`training job ${reactorJobId} did not finish within --timeout ${seconds(this.limits.timeoutMs)} s`, `it goes on; follow it with: ${status} --follow`);
    const t = end.terminal;
    if (t.event === 'failed') throw new DemoStopped(`training job ${reactorJobId} failed: ${t.data.error ?? 'no reason given'}`, `details: ${status}`);
    if (t.event === 'cancelled') throw new DemoStopped(`training job ${reactorJobId} was cancelled`, `details: ${status}`);
    if (!t.data.model_version) throw new DemoStopped(`training job ${reactorJobId} completed without registering a version`, `details: ${status}`);
    const job = await this.s.reactorClient.status(reactorJobId);
    const took = job.started_at && job.completed_at ? ` in ${fmtNum((Date.parse(String(job.completed_at)) - Date.parse(String(job.started_at))) / 1000, 1)} s` : '';
    this.report.step('trained', `${t.data.model_version}${took}`);
    return t.data.model_version;
  }

  private async registered(version: string): Promise<void> {
    const d = await this.s.reactor.get(`/api/models/${MODEL_TYPE}/${encodeURIComponent(version)}`, versionDetailsSchema);
    const ev = d.manifest?.evaluation;
    const accuracy = ev?.candidate?.accuracy ?? d.metrics.val_accuracy;
    const held = ev?.validation_n ?? d.experience_counts?.validation;
    const trainedOn = d.experience_counts?.train === undefined ? '' : `, trained on ${d.experience_counts.train} experiences`;
    this.report.step('registered', `${MODEL_TYPE} ${version}${trainedOn}: accuracy ${fmtNum(accuracy, 3)} on ${held ?? 'its'} held-out ones`);
    if (ev?.stable?.version && typeof ev.stable.accuracy === 'number') {
      this.report.more(`stable ${ev.stable.version} scores ${fmtNum(ev.stable.accuracy, 3)} on the same experiences`);
    }
  }

  /** Until JARVIS has asked reactor to deploy the version, and what reactor answered. */
  private async deployed(jobId: string, version: string, deadline: number): Promise<DeployOutcome> {
    const job = await pollUntil(
      async () => {
        const j = await this.jarvisJob(jobId);
        return j.status === 'completed' && j.deployment ? j : undefined;
      },
      () => deadline,
      () => new DemoStopped(`JARVIS has not deployed ${version} within --timeout ${seconds(this.limits.timeoutMs)} s`, "see JARVIS's log"),
    );
    const d = job.deployment!;
    if (d.status === 'completed') {
      this.report.step('deployed', d.response?.message ? `Reactor-Core: ${d.response.message}` : `${version} is the stable version`);
      return 'live';
    }
    if (d.status === 'deploying' && d.deployment_id) {
      const dep = await this.s.reactor.get(`/api/models/deployments/${encodeURIComponent(d.deployment_id)}`, deploymentSchema);
      const c = dep.config;
      this.report.step('rollout', `${dep.strategy} ${dep.deployment_id}: ${version} gets ${dep.current_percentage} % of the traffic, ${dep.previous_version ?? 'stable'} the rest`);
      this.report.more(
        `steps ${c.rollout_steps.join(' → ')} %; each step holds ≥ ${c.monitor_duration_seconds} s and ${c.min_samples} outcomes; back to ${dep.previous_version ?? 'stable'} above ${fmtNum(c.rollback_on_error_rate * 100, 0)} % errors`,
      );
      return 'rollout';
    }
    if (d.status === 'refused') {
      this.report.step('refused', d.error ?? `Reactor-Core refused to deploy ${version}`);
      this.report.more(refusalNote(d.http_status, version));
      return 'refused';
    }
    throw new DemoStopped(`JARVIS could not deploy ${version} (${d.status}): ${d.error ?? 'no reason given'}`, `deploy it by hand: npx trinity deploy ${MODEL_TYPE} ${version}`);
  }

  /** Until J-Prime's own table shows the deployment's effect. */
  private async serving(version: string, outcome: DeployOutcome): Promise<void> {
    const until = Date.now() + SERVE_WITHIN_MS;
    let seen: PrimeSplit | undefined;
    const split = await pollUntil(
      async () => {
        seen = (await this.s.prime.get('/api/v1/models', primeModelsSchema)).models[MODEL_TYPE];
        if (!seen) return undefined;
        if (outcome === 'live') return seen.stable === version ? seen : undefined;
        if (outcome === 'rollout') return seen.canary === version && seen.canary_percentage > 0 ? seen : undefined;
        return seen;
      },
      () => until,
      () =>
        new DemoStopped(
          `J-Prime does not serve ${version} ${seconds(SERVE_WITHIN_MS)} s after its deployment (it serves ${seen ? describeSplit(seen) : 'no nlu version'})`,
          `see J-Prime's log and ${this.s.prime.baseUrl}/api/v1/models (load failures are listed there)`,
        ),
    );
    this.report.step('serving', `J-Prime: ${describeSplit(split)}`);
  }

  /** What JARVIS's auto-trigger last saw, from its health answer. */
  private async autoTriggerLastLook(): Promise<string> {
    const check = (await this.s.jarvis.get('/health', jarvisHealthSchema)).auto_training?.last_check;
    const every = 'it looks every TRAINING_CHECK_INTERVAL seconds';
    if (!check) return `its auto-trigger has not looked since JARVIS started (${every})`;
    const saw = check.error ? `could not read the counts: ${check.error}` : `saw ${check.counts?.[MODEL_TYPE] ?? 0} new ${MODEL_TYPE} experiences`;
    return `its auto-trigger last looked at ${check.at} and ${saw} (${every})`;
  }

  private async nluStats(): Promise<{ total: number; new_since_last_training: number }> {
    const stats = await this.s.reactor.get('/api/experiences/stats', experienceStatsSchema);
    return stats.nlu ?? { total: 0, new_since_last_training: 0 };
  }

  private async jarvisJobs(): Promise<JarvisJob[]> {
    return (await this.s.jarvis.get('/api/training/jobs?limit=50', jarvisJobsSchema)).jobs;
  }

  /** The job as JARVIS sees it now; a failed one stops the demo with its error. */
  private async jarvisJob(jobId: string): Promise<JarvisJob> {
    const path = `/api/training/jobs/${encodeURIComponent(jobId)}`;
    const job = await this.s.jarvis.get(path, jarvisJobSchema);
    if (job.status === 'failed') throw new DemoStopped(`JARVIS's job ${jobId} failed: ${job.error ?? 'no reason given'}`, `details: curl ${this.s.jarvis.baseUrl}${path}`);
    return job;
  }
}

/** What a refused deploy means: 422 is the accuracy gate, 409 another rollout of the type still running. */
export function refusalNote(httpStatus: number | null | undefined, version: string): string {
  if (httpStatus === 422) return `the gate keeps out a version clearly worse than stable on the same validation data; stable keeps serving`;
  if (httpStatus === 409) return `one rollout per model type at a time; ${version} stays registered: deploy it later with \`npx trinity deploy ${MODEL_TYPE} ${version}\``;
  return `${version} stays registered; what is served does not change`;
}

/** `v1.0.0 for every request`, or `v1.0.0 for 90 % of sessions, v1.0.1 for 10 %`. */
export function describeSplit(s: PrimeSplit): string {
  if (s.canary && s.canary_percentage > 0) {
    if (!s.stable) return `${s.canary} for every request (first rollout, no stable version yet)`;
    return `${s.stable} for ${100 - s.canary_percentage} % of sessions, ${s.canary} for ${s.canary_percentage} %`;
  }
  return `${s.stable ?? 'nothing'} for every request`;
}
