/**
 * The resource rule of CONTRACT §6 as a pure function: a snapshot of J-Prime, Reactor-Core and the host
 * in, "start" or "wait, because …" out. Every reason names its numbers, so the queue and the log say
 * exactly what the job waits for.
 */
import type { MemoryNeed } from './memory-need.js';
import type { ResourceVerdict } from './types.js';

export type SourceKind = 'api' | 'state_file' | 'absent' | 'disabled';

export interface ServiceFigures {
  source: SourceKind;
  memoryGb: number;
  /** J-Prime: active requests; Reactor-Core: active training jobs. */
  busy: number;
  /** Why the figures are what they are when not from the API (e.g. "not reachable; counted as idle"). */
  note?: string;
}

export interface ResourceSnapshot {
  prime: ServiceFigures;
  reactor: ServiceFigures;
  /** The host's MemAvailable in GB. */
  hostAvailableGb: number;
  at: number;
}

export interface ResourceLimits {
  /** MAX_TOTAL_MEMORY_GB */
  maxTotalGb: number;
}

/** 5.123 → "5.1", 40 → "40": enough precision to compare, short enough to read. */
export function gb(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/**
 * Start only when MAX_TOTAL_MEMORY_GB − (J-Prime + Reactor-Core memory) ≥ the job's need, the host really
 * has that much available, reactor trains nothing, and J-Prime serves no request. All failing conditions
 * are reported, not just the first, so one look says everything that has to change; the memory ones name
 * the need and where it came from ("nlu estimate", "TRAINING_MEMORY_RESERVE_GB").
 */
export function evaluateResources(s: ResourceSnapshot, limits: ResourceLimits, need: MemoryNeed): ResourceVerdict {
  const reasons: string[] = [];
  if (s.reactor.source === 'absent') reasons.push(`Reactor-Core resources unknown (${s.reactor.note ?? 'no answer, no fresh state file'})`);
  if (s.prime.busy > 0) reasons.push(`J-Prime has ${s.prime.busy} active request${s.prime.busy === 1 ? '' : 's'}`);
  if (s.reactor.busy > 0) reasons.push(`Reactor-Core has ${s.reactor.busy} active training job${s.reactor.busy === 1 ? '' : 's'}`);
  const free = limits.maxTotalGb - (s.prime.memoryGb + s.reactor.memoryGb);
  const needed = `${gb(need.gb)} GB needed (${need.source})`;
  if (free < need.gb) {
    reasons.push(`${gb(free)} GB free < ${needed}: MAX_TOTAL_MEMORY_GB ${gb(limits.maxTotalGb)} − J-Prime ${gb(s.prime.memoryGb)} − Reactor-Core ${gb(s.reactor.memoryGb)}`);
  }
  if (s.hostAvailableGb < need.gb) reasons.push(`host has ${gb(s.hostAvailableGb)} GB available < ${needed}`);
  if (reasons.length > 0) return { ok: false, reason: `waiting: ${reasons.join('; ')}` };
  return { ok: true, summary: `${gb(free)} GB free ≥ ${needed}, host has ${gb(s.hostAvailableGb)} GB available, J-Prime idle, Reactor-Core idle` };
}
