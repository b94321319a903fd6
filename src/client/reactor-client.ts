/**
 * Typed client for the Reactor-Core HTTP API (CONTRACT §3). One method per route; every failure is one
 * of ./errors.ts. No retries: the coordinator wraps these calls in its own resilience policies, and the
 * job stream follower reconnects by itself.
 */
import {
  deploymentListSchema,
  deploymentSchema,
  deployResponseSchema,
  rollbackResponseSchema,
  type DeploymentCommand,
  type DeploymentsFilter,
  type DeploymentStatus,
  type DeployRequestBody,
  type DeployResponse,
  type RollbackRequestBody,
  type RollbackResponse,
} from './deployment-schemas.js';
import { followDeployment, type DeploymentEvent, type DeploymentStreamEnd, type FollowDeploymentOptions } from './deployment-stream.js';
import { jobEventFromNdjson } from './job-events.js';
import { followJob } from './job-stream.js';
import { ndjsonLines } from './ndjson.js';
import { resolveClientOptions, resolveFollowOptions, type FollowJobOptions, type ReactorClientOptions, type ResolvedClientOptions, type StreamJobOptions } from './options.js';
import { open, requestJson, type OpenResponse } from './request.js';
import {
  cancelResponseSchema,
  experienceStatsSchema,
  healthSchema,
  jobListSchema,
  jobStatusSchema,
  modelsSchema,
  postExperiencesResponseSchema,
  resourcesSchema,
  trainingEstimateSchema,
  trainingStartResponseSchema,
  trainingWorkersSchema,
} from './schemas.js';
import type {
  CallOptions,
  CancelResponse,
  ExperienceInput,
  ExperienceStats,
  TrainingWorkers,
  HealthReport,
  JobEvent,
  JobStatus,
  JobStreamEnd,
  JobsFilter,
  ModelsResponse,
  PostExperiencesResponse,
  ResourcesReport,
  TrainingStartRequest,
  TrainingEstimate,
  TrainingStartResponse,
} from './types.js';

const job = (jobId: string) => encodeURIComponent(jobId);

export class ReactorClient {
  private readonly opts: ResolvedClientOptions;

  constructor(options: ReactorClientOptions) {
    this.opts = resolveClientOptions(options);
  }

  /** The reactor's base URL, without a trailing slash. */
  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /** `GET /api/health`. A 503 `starting` answer is returned, not thrown: it is a health report too. */
  health(o: CallOptions = {}): Promise<HealthReport> {
    return requestJson(this.opts, { method: 'GET', path: '/api/health', signal: o.signal, okStatuses: [503] }, healthSchema);
  }

  resources(o: CallOptions = {}): Promise<ResourcesReport> {
    return requestJson(this.opts, { method: 'GET', path: '/api/resources', signal: o.signal }, resourcesSchema);
  }

  startTraining(body: TrainingStartRequest, o: CallOptions = {}): Promise<TrainingStartResponse> {
    return requestJson(this.opts, { method: 'POST', path: '/api/training/start', body, signal: o.signal }, trainingStartResponseSchema);
  }

  /** The memory the job of this start body would need (its trainer's estimate), without starting it. */
  estimateTraining(body: TrainingStartRequest, o: CallOptions = {}): Promise<TrainingEstimate> {
    return requestJson(this.opts, { method: 'POST', path: '/api/training/estimate', body, signal: o.signal }, trainingEstimateSchema);
  }

  status(jobId: string, o: CallOptions = {}): Promise<JobStatus> {
    return requestJson(this.opts, { method: 'GET', path: `/api/training/status/${job(jobId)}`, signal: o.signal }, jobStatusSchema);
  }

  cancel(jobId: string, o: CallOptions = {}): Promise<CancelResponse> {
    return requestJson(this.opts, { method: 'POST', path: `/api/training/cancel/${job(jobId)}`, signal: o.signal }, cancelResponseSchema);
  }

  /** Recent jobs, newest first. */
  jobs(filter: JobsFilter = {}, o: CallOptions = {}): Promise<JobStatus[]> {
    const query = { status: filter.status, model_type: filter.model_type, limit: filter.limit === undefined ? undefined : String(filter.limit) };
    return requestJson(this.opts, { method: 'GET', path: '/api/training/jobs', query, signal: o.signal }, jobListSchema);
  }

  /** `GET /api/models`, or `/api/models/{type}` for one model type. */
  models(type?: string, o: CallOptions = {}): Promise<ModelsResponse> {
    const path = type === undefined ? '/api/models' : `/api/models/${encodeURIComponent(type)}`;
    return requestJson(this.opts, { method: 'GET', path, signal: o.signal }, modelsSchema);
  }

  postExperiences(experiences: ExperienceInput | ExperienceInput[], o: CallOptions = {}): Promise<PostExperiencesResponse> {
    const body = Array.isArray(experiences) ? { experiences } : experiences;
    return requestJson(this.opts, { method: 'POST', path: '/api/experiences', body, signal: o.signal }, postExperiencesResponseSchema);
  }

  experienceStats(o: CallOptions = {}): Promise<ExperienceStats> {
    return requestJson(this.opts, { method: 'GET', path: '/api/experiences/stats', signal: o.signal }, experienceStatsSchema);
  }

  /** `GET /api/training/workers`: the runners alive now (a reactor before this route answers 404). */
  trainingWorkers(o: CallOptions = {}): Promise<TrainingWorkers> {
    return requestJson(this.opts, { method: 'GET', path: '/api/training/workers', signal: o.signal }, trainingWorkersSchema);
  }

  /**
   * The job's events over SSE, each exactly once, until its terminal event; reconnects with
   * `Last-Event-ID` and falls back to polling (see FollowJobOptions). The generator's return value
   * says how it ended.
   */
  jobEvents(jobId: string, o: FollowJobOptions = {}): AsyncGenerator<JobEvent, JobStreamEnd> {
    const resolved = resolveFollowOptions(o);
    return followJob(
      {
        openStream: (lastEventId, signal) => this.openStream(jobId, 'text/event-stream', lastEventId, signal),
        status: (signal) => this.status(jobId, { signal }),
      },
      resolved,
    );
  }

  /** Same as `jobEvents`, with a callback: resolves once the job has ended or `signal` aborted. */
  async streamJob(jobId: string, o: StreamJobOptions = {}): Promise<JobStreamEnd> {
    const { onEvent, ...follow } = o;
    const events = this.jobEvents(jobId, follow);
    let finished = false;
    try {
      for (;;) {
        const step = await events.next();
        if (step.done) {
          finished = true;
          return step.value;
        }
        await onEvent?.(step.value);
      }
    } finally {
      // onEvent threw: close the connection now rather than when the generator is collected.
      if (!finished) await events.return({ reason: 'aborted', lastEventId: undefined });
    }
  }

  /**
   * The job's events in the NDJSON framing (what the original JARVIS client reads), from after event
   * `since`. One connection, no reconnection: for callers that want the raw log as it is served.
   */
  async *jobEventsNdjson(jobId: string, o: CallOptions & { since?: number } = {}): AsyncGenerator<JobEvent> {
    const signal = o.signal ?? new AbortController().signal;
    const { response, release } = await this.openStream(jobId, 'application/x-ndjson', o.since === undefined ? undefined : String(o.since), signal);
    release();
    if (!response.body) return;
    for await (const line of ndjsonLines(response.body)) {
      const event = jobEventFromNdjson(line);
      if (event) yield event;
    }
  }

  // ── deployments ──────────────────────────────────────────────────────────
  /** `POST /api/models/deploy`: 409 (active deployment, `active_deployment_id`) and 422 (accuracy gate) throw ReactorHttpError. */
  deploy(body: DeployRequestBody, o: CallOptions = {}): Promise<DeployResponse> {
    return requestJson(this.opts, { method: 'POST', path: '/api/models/deploy', body, signal: o.signal }, deployResponseSchema);
  }

  rollback(body: RollbackRequestBody, o: CallOptions = {}): Promise<RollbackResponse> {
    return requestJson(this.opts, { method: 'POST', path: '/api/models/rollback', body, signal: o.signal }, rollbackResponseSchema);
  }

  deployment(id: string, o: CallOptions = {}): Promise<DeploymentStatus> {
    return requestJson(this.opts, { method: 'GET', path: `/api/models/deployments/${job(id)}`, signal: o.signal }, deploymentSchema);
  }

  /** Newest first. */
  deployments(filter: DeploymentsFilter = {}, o: CallOptions = {}): Promise<DeploymentStatus[]> {
    const query = { model_type: filter.model_type, status: filter.status, limit: filter.limit === undefined ? undefined : String(filter.limit) };
    return requestJson(this.opts, { method: 'GET', path: '/api/models/deployments', query, signal: o.signal }, deploymentListSchema);
  }

  /** promote, pause, resume or abort; idempotent on the reactor. */
  deploymentCommand(id: string, command: DeploymentCommand, o: CallOptions = {}): Promise<DeploymentStatus> {
    return requestJson(this.opts, { method: 'POST', path: `/api/models/deployments/${job(id)}/${command}`, body: {}, signal: o.signal }, deploymentSchema);
  }

  /** The deployment's decisions over SSE, from its first, each once, until it completes, rolls back or is aborted. */
  deploymentEvents(id: string, o: FollowDeploymentOptions = {}): AsyncGenerator<DeploymentEvent, DeploymentStreamEnd> {
    return followDeployment((lastEventId, signal) => {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      return open(this.opts, { method: 'GET', path: `/api/models/deployments/${job(id)}/stream`, headers, query: { since: lastEventId }, signal });
    }, o);
  }

  private openStream(jobId: string, accept: string, lastEventId: string | undefined, signal: AbortSignal): Promise<OpenResponse> {
    const headers: Record<string, string> = { accept };
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    // `since` too, for proxies that drop unknown headers; the reactor treats both the same.
    const query = { since: lastEventId };
    return open(this.opts, { method: 'GET', path: `/api/training/stream/${job(jobId)}`, headers, query, signal });
  }
}
