/**
 * Reads the figures the resource rule needs: J-Prime's and Reactor-Core's `GET /api/resources`, falling
 * back to their state files in cross_repo/ when the API does not answer, and the host's MemAvailable.
 * A service that neither answers nor has a fresh state file is not running: J-Prime then counts as idle
 * with no memory; Reactor-Core as unknown (nothing can start on it anyway).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { availableMemoryBytes, toGb } from '../util/proc.js';
import type { ReactorLink } from './reactor-link.js';
import { describeError } from './reactor-link.js';
import type { ResourceSnapshot, ServiceFigures } from './resource-rule.js';

/** J-Prime is asked directly, without retries: the gate asks again on its next check anyway. */
export const PRIME_TIMEOUT_MS = 2_000;

export interface ResourceProbeOptions {
  reactor: ReactorLink;
  /** J-Prime's base URL; undefined when JARVIS_PRIME_ENABLED is off. */
  primeUrl: string | undefined;
  token?: string;
  crossRepoDir: string;
  /** A state file whose last_heartbeat is older than this (s) is stale. */
  staleAfterSeconds: number;
  now?: () => number;
  /** The host's available memory in bytes; injectable for tests. Default: /proc/meminfo MemAvailable. */
  hostAvailableBytes?: () => number;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export class ResourceProbe {
  private readonly now: () => number;

  constructor(private readonly o: ResourceProbeOptions) {
    this.now = o.now ?? Date.now;
  }

  async snapshot(signal?: AbortSignal): Promise<ResourceSnapshot> {
    const [prime, reactor] = await Promise.all([this.prime(signal), this.reactorFigures(signal)]);
    const host = (this.o.hostAvailableBytes ?? availableMemoryBytes)();
    return { prime, reactor, hostAvailableGb: toGb(host), at: this.now() };
  }

  private async prime(signal?: AbortSignal): Promise<ServiceFigures> {
    if (this.o.primeUrl === undefined) return { source: 'disabled', memoryGb: 0, busy: 0, note: 'JARVIS_PRIME_ENABLED is off' };
    let why: string;
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
      const deadline = AbortSignal.timeout(PRIME_TIMEOUT_MS);
      const res = await fetch(`${this.o.primeUrl}/api/resources`, { headers, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as Record<string, unknown>;
      return { source: 'api', memoryGb: num(body.memory_usage_gb), busy: num(body.active_requests) };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      why = describeError(err);
    }
    const state = await this.stateFile('prime_state.json');
    if (state) return { source: 'state_file', memoryGb: num(state.memory_usage_gb), busy: num(state.active_requests), note: `API: ${why}` };
    return { source: 'absent', memoryGb: 0, busy: 0, note: `not reachable (${why}) and no fresh prime_state.json; counted as idle` };
  }

  private async reactorFigures(signal?: AbortSignal): Promise<ServiceFigures> {
    let why: string;
    try {
      const r = await this.o.reactor.resources(signal);
      return { source: 'api', memoryGb: num(r.memory_usage_gb), busy: num(r.active_training_jobs) };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      why = describeError(err);
    }
    const state = await this.stateFile('reactor_state.json');
    if (state) return { source: 'state_file', memoryGb: num(state.memory_usage_gb), busy: num(state.active_training_jobs), note: `API: ${why}` };
    return { source: 'absent', memoryGb: 0, busy: 0, note: `not reachable (${why}) and no fresh reactor_state.json` };
  }

  /** The state file's JSON when its heartbeat is fresh, else undefined. */
  private async stateFile(name: string): Promise<Record<string, unknown> | undefined> {
    try {
      const body = JSON.parse(await readFile(join(this.o.crossRepoDir, name), 'utf8')) as Record<string, unknown>;
      const beat = num(body.last_heartbeat);
      return this.now() / 1000 - beat <= this.o.staleAfterSeconds ? body : undefined;
    } catch {
      return undefined;
    }
  }
}
