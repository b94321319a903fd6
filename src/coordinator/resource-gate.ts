/**
 * Resource negotiation before a start (CONTRACT §6): check the rule against the job's memory need, and
 * while it says "wait", re-check every RESOURCE_CHECK_INTERVAL; give up after TRAINING_SLOT_TIMEOUT with
 * the last reason. The need is asked again at every check: the buffer the job will train on grows while
 * it waits, and a reactor that was down for the estimate may answer now. The reason is handed to the
 * caller each time it changes, so the queue and the log always say why the job waits.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinatorSlotTimeout } from '../errors.js';
import type { ResourceProbe } from './resource-probe.js';
import type { MemoryNeed } from './memory-need.js';
import { evaluateResources, type ResourceLimits, type ResourceSnapshot } from './resource-rule.js';

/** Re-checks closer together than this would only load J-Prime and reactor with probes. */
export const MIN_CHECK_INTERVAL_MS = 10;

export interface ResourceGateOptions {
  probe: ResourceProbe;
  limits: ResourceLimits;
  /** RESOURCE_CHECK_INTERVAL in ms. */
  checkIntervalMs: number;
  /** TRAINING_SLOT_TIMEOUT in ms. */
  timeoutMs: number;
  now?: () => number;
}

export interface Reservation {
  snapshot: ResourceSnapshot;
  need: MemoryNeed;
  summary: string;
  waitedMs: number;
}

export class ResourceGate {
  private readonly now: () => number;

  constructor(private readonly o: ResourceGateOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * Resolves once the rule holds; rejects with CoordinatorSlotTimeout (naming the last reason) after the
   * timeout, or with the signal's reason when aborted. `needOf` gives the job's memory need (see
   * memory-need.ts); `onWaiting` hears each new reason once.
   */
  async reserve(needOf: (signal?: AbortSignal) => Promise<MemoryNeed>, onWaiting: (reason: string) => void, signal?: AbortSignal): Promise<Reservation> {
    const started = this.now();
    let last: string | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const [need, snapshot] = await Promise.all([needOf(signal), this.o.probe.snapshot(signal)]);
      const verdict = evaluateResources(snapshot, this.o.limits, need);
      if (verdict.ok) return { snapshot, need, summary: verdict.summary, waitedMs: this.now() - started };
      if (verdict.reason !== last) {
        last = verdict.reason;
        onWaiting(verdict.reason);
      }
      const waited = this.now() - started;
      if (waited >= this.o.timeoutMs) {
        throw CoordinatorSlotTimeout.with({ details: verdict.reason }, Math.round(waited / 100) / 10, verdict.reason);
      }
      const pause = Math.max(MIN_CHECK_INTERVAL_MS, Math.min(this.o.checkIntervalMs, this.o.timeoutMs - waited));
      await sleep(pause, undefined, { signal });
    }
  }
}
