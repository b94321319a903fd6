/**
 * JARVIS's view of itself for /health, /api/resources and cross_repo/jarvis_state.json: the queue, the
 * training lock, the circuit breakers towards reactor, the outbox and the auto-trigger. `starting` until
 * the store is open and the loops run; `degraded` (with `problems`) while reactor is unusable or
 * experience files cannot be written; else `healthy`. The queue and lock are read from the store each
 * time (another jarvis may have changed them), bounded by DB_READ_MS: a database that does not answer
 * leaves the last view, marked degraded, rather than a health check that hangs.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoordinatorJob, Lease } from '../coordinator/index.js';
import { StateFileHeartbeat } from '../util/state-file.js';
import type { CoordinatorParts } from './assemble.js';
import { CpuMeter, hostMemory, rssBytes, toGb } from '../util/proc.js';

export const SERVICE_NAME = 'jarvis';

export interface JarvisFacts {
  ready: () => boolean;
  parts: () => CoordinatorParts | null;
  port: () => number;
  autoTrainingEnabled: boolean;
  instanceId: string;
}

export type JarvisStatus = 'starting' | 'healthy' | 'degraded';

/** Longest wait of health for the store's queue and lock. */
export const DB_READ_MS = 2_000;

interface QueueView {
  jobs: CoordinatorJob[];
  holders: Lease[];
}

export class JarvisState {
  private readonly startedAt = Date.now();
  private readonly cpu = new CpuMeter();

  private readonly heartbeat: StateFileHeartbeat;
  private lastView: QueueView = { jobs: [], holders: [] };

  constructor(
    private readonly facts: JarvisFacts,
    private readonly version: string,
    crossRepoDir: string,
  ) {
    this.heartbeat = new StateFileHeartbeat(join(crossRepoDir, 'jarvis_state.json'), () => this.stateFile());
  }

  private problems(p: CoordinatorParts): string[] {
    const out: string[] = [];
    for (const link of [p.local, p.cloud]) {
      if (link && link.breakerState() !== 'closed') out.push(`circuit breaker to ${link.name} Reactor-Core (${link.baseUrl}) is ${link.breakerState()}: ${link.lastFailure() ?? 'no answer'}`);
    }
    const reactor = p.worker.reactorProblem();
    if (reactor) out.push(reactor.replace(/^waiting: /, ''));
    const fwd = p.forwarder.status();
    if (fwd.lastError) out.push(`experience files are not being written (${fwd.pending} waiting): ${fwd.lastError}`);
    return out;
  }

  /** The queue and lock now, or the last view and why there is no newer one. */
  private async queueView(p: CoordinatorParts): Promise<QueueView & { problem: string | null }> {
    const ac = new AbortController();
    const timeout = sleep(DB_READ_MS, null, { signal: ac.signal }).catch(() => null);
    try {
      const read = await Promise.race([Promise.all([p.store.active(), p.lock.holders()]), timeout]);
      if (read === null) return { ...this.lastView, problem: `the database did not answer within ${DB_READ_MS / 1000} s; queue and lock as last read` };
      this.lastView = { jobs: read[0], holders: read[1] };
      return { ...this.lastView, problem: null };
    } catch (err) {
      return { ...this.lastView, problem: `the database could not be read (${(err as Error).message}); queue and lock as last read` };
    } finally {
      ac.abort();
    }
  }

  async health(): Promise<Record<string, unknown> & { status: JarvisStatus }> {
    const p = this.facts.parts();
    const base = { service: SERVICE_NAME, version: this.version, uptime_seconds: Math.round((Date.now() - this.startedAt) / 100) / 10, instance_id: this.facts.instanceId };
    if (!this.facts.ready() || !p) return { status: 'starting', ...base };
    const { jobs, holders, problem } = await this.queueView(p);
    const problems = this.problems(p);
    if (problem) problems.push(problem);
    const now = Date.now() / 1000;
    const fwd = p.forwarder.status();
    const auto = p.auto.lastCheck();
    return {
      status: problems.length ? 'degraded' : 'healthy',
      ...base,
      queue: { length: jobs.filter((j) => j.status === 'queued').length, running: jobs.filter((j) => j.status === 'running').map((j) => j.jobId) },
      lock: {
        name: p.lock.name,
        capacity: p.lock.capacity,
        holder: holders[0]?.holder ?? null,
        holders: holders.map((h) => ({ holder: h.holder, token: h.token, job_id: h.jobId, expires_in_seconds: Math.round((h.expiresAt - now) * 10) / 10 })),
      },
      breaker: Object.fromEntries([p.local, p.cloud].filter((l) => l !== undefined).map((l) => [l.name, l.breakerState()])),
      reactor: { url: p.local.baseUrl, cloud_url: p.cloud?.baseUrl ?? null, last_failure: p.local.lastFailure(), problem: p.worker.reactorProblem() },
      outbox: { pending: fwd.pending, files_written: fwd.filesWritten, last_file_at: fwd.lastFileAt, last_error: fwd.lastError },
      auto_training: { enabled: this.facts.autoTrainingEnabled, active: p.auto.active, last_check: auto },
      leader_of: p.autoLeader.isLeader ? [p.autoLeader.role] : [],
      ...(problems.length ? { problems } : {}),
    };
  }

  resources(): Record<string, unknown> {
    const host = hostMemory();
    return {
      memory_usage_gb: toGb(rssBytes(process.pid)),
      memory_total_gb: host.totalGb,
      memory_available_gb: host.availableGb,
      cpu_percent: this.cpu.sample([process.pid]),
    };
  }

  async stateFile(): Promise<Record<string, unknown>> {
    const h = await this.health();
    const now = Date.now();
    const queue = h.queue as { length: number; running: string[] } | undefined;
    const lock = h.lock as { holders: unknown[] } | undefined;
    return {
      status: h.status === 'starting' ? 'degraded' : h.status,
      last_update: new Date(now).toISOString(),
      last_heartbeat: now / 1000,
      port: this.facts.port(),
      pid: process.pid,
      instance_id: this.facts.instanceId,
      queue_length: queue?.length ?? 0,
      running_jobs: queue?.running ?? [],
      lock_holders: lock?.holders ?? [],
      breaker: h.breaker ?? {},
      outbox_pending: (h.outbox as { pending: number } | undefined)?.pending ?? 0,
      memory_usage_gb: toGb(rssBytes(process.pid)),
    };
  }

  /** Rewrites cross_repo/jarvis_state.json now. */
  writeStateFile(): Promise<void> {
    return this.heartbeat.write();
  }

  startHeartbeat(intervalMs: number): void {
    this.heartbeat.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.heartbeat.stop();
  }
}
