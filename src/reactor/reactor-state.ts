/**
 * Reactor's view of itself for /api/health, /api/resources, /metrics and cross_repo/reactor_state.json.
 * Memory counts the service and its trainer processes.
 */
import { join } from 'node:path';
import { StateFileHeartbeat } from '../util/state-file.js';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { CpuMeter, hostMemory, rssBytes, toGb } from '../util/proc.js';

export interface ReactorFacts {
  ready: () => boolean;
  problems: () => string[];
  trainerPids: () => number[];
  activeJobs: () => number;
  bufferSize: () => number;
  bufferByType: () => Record<string, { total: number; usable: number }>;
  modelsDeployed: () => Record<string, string>;
  port: () => number;
  /** The leader roles this node holds now. */
  leaderOf: () => string[];
  /** Every role it campaigns for (the metric's label values). */
  roles: readonly string[];
}

export const SERVICE_NAME = 'reactor-core';

export class ReactorState {
  readonly metrics = new Registry();
  private readonly cpu = new CpuMeter();
  private readonly startedAt = Date.now();

  private readonly heartbeat: StateFileHeartbeat;

  constructor(
    private readonly facts: ReactorFacts,
    private readonly version: string,
    crossRepoDir: string,
  ) {
    this.heartbeat = new StateFileHeartbeat(join(crossRepoDir, 'reactor_state.json'), () => this.stateFile());
    collectDefaultMetrics({ register: this.metrics, prefix: 'trinity_reactor_' });
    const f = this.facts;
    new Gauge({
      name: 'trinity_experiences',
      help: 'Experiences in the buffer by model type and usability',
      labelNames: ['model_type', 'usable'],
      registers: [this.metrics],
      collect() {
        this.reset();
        for (const [type, s] of Object.entries(f.bufferByType())) {
          this.set({ model_type: type, usable: 'true' }, s.usable);
          this.set({ model_type: type, usable: 'false' }, s.total - s.usable);
        }
      },
    });
    new Gauge({
      name: 'trinity_leader',
      help: 'Whether this node holds the leader lease of a role (1) or not (0)',
      labelNames: ['role'],
      registers: [this.metrics],
      collect() {
        const held = new Set(f.leaderOf());
        for (const role of f.roles) this.set({ role }, held.has(role) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'trinity_active_training_jobs',
      help: 'Trainer processes running now',
      registers: [this.metrics],
      collect() {
        this.set(f.activeJobs());
      },
    });
    new Gauge({
      name: 'trinity_trainer_memory_bytes',
      help: 'Resident memory of all trainer processes',
      registers: [this.metrics],
      collect() {
        this.set(f.trainerPids().reduce((s, p) => s + rssBytes(p), 0));
      },
    });
  }

  private memoryBytes(): number {
    return rssBytes(process.pid) + this.facts.trainerPids().reduce((s, p) => s + rssBytes(p), 0);
  }

  private cpuPercent(): number {
    return this.cpu.sample([process.pid, ...this.facts.trainerPids()]);
  }

  health(): { status: 'starting' | 'healthy' | 'degraded'; [k: string]: unknown } {
    const problems = this.facts.problems();
    const status = !this.facts.ready() ? 'starting' : problems.length ? 'degraded' : 'healthy';
    return {
      status,
      service: SERVICE_NAME,
      version: this.version,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 100) / 10,
      active_training_jobs: this.facts.activeJobs(),
      experience_buffer_size: this.facts.ready() ? this.facts.bufferSize() : 0,
      models_deployed: this.facts.ready() ? this.facts.modelsDeployed() : {},
      leader_of: this.facts.leaderOf(),
      ...(problems.length ? { problems } : {}),
    };
  }

  resources(): Record<string, unknown> {
    const host = hostMemory();
    return {
      memory_usage_gb: toGb(this.memoryBytes()),
      memory_total_gb: host.totalGb,
      memory_available_gb: host.availableGb,
      cpu_percent: this.cpuPercent(),
      gpu_memory_gb: 0,
      gpu_utilization_percent: 0,
      active_training_jobs: this.facts.activeJobs(),
      trainer_pids: this.facts.trainerPids(),
    };
  }

  stateFile(): Record<string, unknown> {
    const ready = this.facts.ready();
    const active = this.facts.activeJobs();
    const problems = this.facts.problems();
    const now = Date.now();
    return {
      status: !ready ? 'degraded' : problems.length ? 'degraded' : active > 0 ? 'busy' : 'healthy',
      last_update: new Date(now).toISOString(),
      last_heartbeat: now / 1000,
      active_training_jobs: active,
      memory_usage_gb: toGb(this.memoryBytes()),
      cpu_percent: this.cpuPercent(),
      models_deployed: ready ? this.facts.modelsDeployed() : {},
      port: this.facts.port(),
      pid: process.pid,
    };
  }

  /** Rewrites cross_repo/reactor_state.json now. */
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
