/**
 * One reactor as the coordinator uses it: the ReactorClient behind cockatiel policies. Every plain call
 * goes retry(jittered exponential backoff) → circuit breaker → timeout. Only failures that say "reactor
 * is not there" count (unreachable, timed out, 5xx); a 4xx is an answer, is not retried and keeps the
 * breaker closed. The job stream is not wrapped: the client's follower reconnects with Last-Event-ID and
 * falls back to polling by itself, and a long stream must not hold a breaker slot.
 */
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  isTaskCancelledError,
  retry,
  timeout,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { ReactorClient, isRetryable, type FollowJobOptions, type JobStreamEnd, type JobEvent } from '../client/index.js';
import type { ExperienceStats, HealthReport, JobStatus, ResourcesReport, TrainingEstimate, TrainingStartRequest, TrainingStartResponse } from '../client/index.js';
import { CoordinatorInvalidOption } from '../errors.js';
import { postDeploy, type DeployBody } from './deploy-call.js';
import type { BreakerState } from './types.js';

export interface ReactorLinkOptions {
  /** `local` or `cloud` (REACTOR_CLOUD_API_URL), for /health and logs. */
  name: string;
  baseUrl: string;
  token?: string;
  /** Retries after a failed first try (REACTOR_API_RETRIES). Default 3. */
  retries?: number;
  /** First retry delay in ms (REACTOR_RETRY_DELAY); later ones grow exponentially with jitter. Default 5 000. */
  retryDelayMs?: number;
  /** Ms one call may take (REACTOR_REQUEST_TIMEOUT). Default 30 000. */
  requestTimeoutMs?: number;
  /** Consecutive failed calls that open the breaker (REACTOR_BREAKER_THRESHOLD). Default 5. */
  breakerThreshold?: number;
  /** Ms the open breaker waits before one probe call (REACTOR_BREAKER_HALF_OPEN). Default 30 000. */
  halfOpenAfterMs?: number;
}

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** For the policies: a failure that means reactor is not there (as opposed to an answer about the request). */
function isFailure(err: unknown): boolean {
  return isRetryable(err) || isTaskCancelledError(err);
}

/** For callers: reactor cannot be used right now (it failed to answer, or its breaker is open). */
export function isOutage(err: unknown): boolean {
  return isFailure(err) || isBrokenCircuitError(err);
}

export class ReactorLink {
  readonly name: string;
  readonly client: ReactorClient;
  private readonly breaker;
  private readonly policy: IPolicy;
  private readonly requestTimeoutMs: number;
  private readonly token: string | undefined;
  private lastError: string | null = null;

  constructor(o: ReactorLinkOptions) {
    const retries = o.retries ?? 3;
    const retryDelayMs = o.retryDelayMs ?? 5_000;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 30_000;
    const threshold = o.breakerThreshold ?? 5;
    const halfOpenAfter = o.halfOpenAfterMs ?? 30_000;
    if (!Number.isInteger(retries) || retries < 0) throw CoordinatorInvalidOption('ReactorLink', 'retries', 'an integer >= 0', o.retries);
    if (!(retryDelayMs >= 0)) throw CoordinatorInvalidOption('ReactorLink', 'retryDelayMs', 'a number of ms >= 0', o.retryDelayMs);
    if (!Number.isInteger(threshold) || threshold < 1) throw CoordinatorInvalidOption('ReactorLink', 'breakerThreshold', 'an integer >= 1', o.breakerThreshold);
    this.name = o.name;
    this.token = o.token;
    // The client's own deadline is a backstop; the timeout policy below is the one that applies.
    this.client = new ReactorClient({ baseUrl: o.baseUrl, token: o.token, timeoutMs: this.requestTimeoutMs + 1_000 });
    const outage = handleWhen(isFailure);
    // Decorrelated jitter (cockatiel's default generator) spreads the retries of several jarvis processes.
    const backoff = new ExponentialBackoff({ initialDelay: Math.max(1, retryDelayMs), maxDelay: Math.max(1, retryDelayMs) * 2 ** Math.max(1, retries) });
    const retryPolicy = retry(outage, { maxAttempts: retries, backoff });
    this.breaker = circuitBreaker(outage, { halfOpenAfter: halfOpenAfter, breaker: new ConsecutiveBreaker(threshold) });
    const timeoutPolicy = timeout(this.requestTimeoutMs, TimeoutStrategy.Aggressive);
    this.policy = wrap(retryPolicy, this.breaker, timeoutPolicy);
    // Read at the breaker, not outside it: there the real error is seen, not the BrokenCircuitError that
    // calls get while it is open. Unhandled failures (4xx answers) mean reactor is there.
    this.breaker.onFailure(({ reason, handled }) => {
      if (handled && 'error' in reason) this.lastError = describeError(reason.error);
    });
    this.breaker.onSuccess(() => {
      this.lastError = null;
    });
  }

  get baseUrl(): string {
    return this.client.baseUrl;
  }

  breakerState(): BreakerState {
    return STATE_NAMES[this.breaker.state];
  }

  /** The last outage seen, until a call succeeds again. */
  lastFailure(): string | null {
    return this.lastError;
  }

  private run<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.policy.execute(({ signal: s }) => fn(s), signal);
  }

  health(signal?: AbortSignal): Promise<HealthReport> {
    return this.run((s) => this.client.health({ signal: s }), signal);
  }

  resources(signal?: AbortSignal): Promise<ResourcesReport> {
    return this.run((s) => this.client.resources({ signal: s }), signal);
  }

  experienceStats(signal?: AbortSignal): Promise<ExperienceStats> {
    return this.run((s) => this.client.experienceStats({ signal: s }), signal);
  }

  /**
   * Live training runners per pool. Outside the retry and breaker policy: placement asks once and, on any
   * failure (an older reactor answers 404), places as if there were no worker pools.
   */
  async workerPools(signal?: AbortSignal): Promise<Record<string, number>> {
    try {
      return (await this.client.trainingWorkers({ signal })).pools;
    } catch {
      return {};
    }
  }

  status(jobId: string, signal?: AbortSignal): Promise<JobStatus> {
    return this.run((s) => this.client.status(jobId, { signal: s }), signal);
  }

  /** Safe to retry: the body always carries job_id, and reactor answers the same job for the same id. */
  startTraining(body: TrainingStartRequest & { job_id: string }, signal?: AbortSignal): Promise<TrainingStartResponse> {
    return this.run((s) => this.client.startTraining(body, { signal: s }), signal);
  }

  estimateTraining(body: TrainingStartRequest, signal?: AbortSignal): Promise<TrainingEstimate> {
    return this.run((s) => this.client.estimateTraining(body, { signal: s }), signal);
  }

  cancel(jobId: string, signal?: AbortSignal): Promise<unknown> {
    return this.run((s) => this.client.cancel(jobId, { signal: s }), signal);
  }

  deploy(body: DeployBody, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.run((s) => postDeploy(body, { baseUrl: this.baseUrl, token: this.token, timeoutMs: this.requestTimeoutMs, signal: s }), signal);
  }

  /** Follows a job's events until its terminal event (see ReactorClient.streamJob). */
  follow(jobId: string, o: FollowJobOptions & { onEvent: (e: JobEvent) => void | Promise<void> }): Promise<JobStreamEnd> {
    return this.client.streamJob(jobId, o);
  }
}

/** A short text for an error: its message, or for an open breaker what opened it. */
export function describeError(err: unknown): string {
  if (isBrokenCircuitError(err)) return 'circuit breaker open';
  if (isTaskCancelledError(err)) return 'timed out';
  return err instanceof Error ? err.message : String(err);
}
