/**
 * JARVIS's view of itself for /health, /api/resources and cross_repo/jarvis_state.json: the queue, the
 * training lock, the circuit breakers towards reactor, the outbox and the auto-trigger. `starting` until
 * the store is open and the loops run; `degraded` (with `problems`) while reactor is unusable or
 * experience files cannot be written; else `healthy`.
 */
import { join } from 'node:path';
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

export class JarvisState {
  private readonly startedAt = Date.now();
  private readonly cpu = new CpuMeter();

  private readonly heartbeat: StateFileHeartbeat;

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

  health(): Record<string, unknown> & { status: JarvisStatus } {
    const p = this.facts.parts();
    const base = { service: SERVICE_NAME, version: this.version, uptime_seconds: Math.round((Date.now() - this.startedAt) / 100) / 10, instance_id: this.facts.instanceId };
    if (!this.facts.ready() || !p) return { status: 'starting', ...base };
    const problems = this.problems(p);
    const jobs = p.store.active();
    const holders = p.lock.holders();
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

  stateFile(): Record<string, unknown> {
    const h = this.health();
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
