/**
 * Prime's view of itself for /health, /api/resources, /metrics and cross_repo/prime_state.json
 * (CONTRACT §3 health semantics, §4 shapes).
 */
import { join } from 'node:path';
import { StateFileHeartbeat } from '../util/state-file.js';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { CpuMeter, hostMemory, rssBytes, toGb } from '../util/proc.js';

export const SERVICE_NAME = 'j-prime';
/** In cross_repo/ (CONTRACT §4). */
export const PRIME_STATE_FILE = 'prime_state.json';

export type PrimeStatus = 'starting' | 'healthy' | 'degraded';

export interface PrimeFacts {
  /** False until the first reconcile attempt has finished. */
  ready: () => boolean;
  problems: () => string[];
  models: () => Record<string, { stable: string | null; canary: string | null; canary_percentage: number }>;
  activeRequests: () => number;
  requestsLastMinute: () => number;
  port: () => number;
}

export class PrimeState {
  readonly metrics = new Registry();
  private readonly cpu = new CpuMeter();
  private readonly startedAt = Date.now();

  private readonly heartbeat: StateFileHeartbeat;

  constructor(
    private readonly facts: PrimeFacts,
    private readonly version: string,
    crossRepoDir: string,
  ) {
    this.heartbeat = new StateFileHeartbeat(join(crossRepoDir, PRIME_STATE_FILE), () => this.stateFile());
    collectDefaultMetrics({ register: this.metrics, prefix: 'trinity_prime_' });
    const f = this.facts;
    new Gauge({
      name: 'trinity_prime_active_requests',
      help: 'Prediction and feedback requests in flight',
      registers: [this.metrics],
      collect() {
        this.set(f.activeRequests());
      },
    });
  }

  status(): PrimeStatus {
    if (!this.facts.ready()) return 'starting';
    return this.facts.problems().length ? 'degraded' : 'healthy';
  }

  health(): { status: PrimeStatus; [k: string]: unknown } {
    const problems = this.facts.ready() ? this.facts.problems() : [];
    return {
      status: this.status(),
      service: SERVICE_NAME,
      version: this.version,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 100) / 10,
      models: this.facts.models(),
      active_requests: this.facts.activeRequests(),
      memory_usage_gb: toGb(rssBytes(process.pid)),
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
      active_requests: this.facts.activeRequests(),
      requests_last_minute: this.facts.requestsLastMinute(),
    };
  }

  stateFile(): Record<string, unknown> {
    const now = Date.now();
    return {
      status: this.status(),
      memory_usage_gb: toGb(rssBytes(process.pid)),
      cpu_percent: this.cpu.sample([process.pid]),
      active_requests: this.facts.activeRequests(),
      requests_last_minute: this.facts.requestsLastMinute(),
      last_heartbeat: now / 1000,
      last_update: new Date(now).toISOString(),
      models: this.facts.models(),
      port: this.facts.port(),
      pid: process.pid,
    };
  }

  /** Rewrites cross_repo/prime_state.json now. */
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
