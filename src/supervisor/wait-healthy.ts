/**
 * Waiting for a service to answer `healthy` (CONTRACT §3: not for an open port). Like a container
 * health check it has a start period, during which failed probes are expected and stay quiet, and a
 * timeout. A `degraded` answer that lasts `degradedGraceMs` is accepted: the service runs, with
 * something missing that waiting will not fix (an external J-Prime that is down, reactor switched off),
 * and the summary says so instead of failing the whole start.
 */
import type { ProbeResult } from './probe.js';
import type { ChildExit } from './types.js';

/** First probes come quickly (a service is often healthy within a second)… */
const FIRST_INTERVAL_MS = 150;
/** …then back off to this, so a slow start is not flooded with requests. */
const MAX_INTERVAL_MS = 1_000;
/** How often a long wait says it is still waiting, once the start period is over. */
export const STILL_WAITING_EVERY_MS = 10_000;

export interface WaitHealthyOptions {
  probe: () => Promise<ProbeResult>;
  /** Total milliseconds before giving up. */
  timeoutMs: number;
  /** Milliseconds during which failed probes are normal; after it, `onStillWaiting` reports them. */
  startPeriodMs: number;
  /** Milliseconds a continuous `degraded` answer must last before it is accepted as the final state. */
  degradedGraceMs: number;
  /** Resolves when the launched child exits; the wait ends at once then. */
  exited?: Promise<ChildExit>;
  /** Probes start once this resolves (the port of a child started with port 0). */
  ready?: Promise<unknown>;
  signal?: AbortSignal;
  onStillWaiting?: (last: ProbeResult | null, elapsedMs: number) => void;
}

export type HealthOutcome =
  | { ok: true; state: 'healthy' | 'degraded'; afterMs: number; last: ProbeResult }
  | { ok: false; reason: 'timeout' | 'exited' | 'aborted'; afterMs: number; last: ProbeResult | null; exit?: ChildExit };

export async function waitHealthy(o: WaitHealthyOptions): Promise<HealthOutcome> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  let exit: ChildExit | undefined;
  void o.exited?.then((e) => (exit = e));
  // Each sleep and probe ends early when the child exits or the wait is aborted.
  let wake: () => void = () => undefined;
  const interrupt = new Promise<void>((resolve) => (wake = resolve));
  void o.exited?.then(() => wake());
  let aborted = o.signal?.aborted ?? false;
  const onAbort = () => {
    aborted = true;
    wake();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const pause = (ms: number) => Promise.race([interrupt, new Promise<void>((r) => setTimeout(r, ms).unref())]);

  let last: ProbeResult | null = null;
  let degradedSince: number | null = null;
  let interval = FIRST_INTERVAL_MS;
  let nextReport = o.startPeriodMs;
  try {
    if (o.ready) await Promise.race([o.ready, interrupt, pause(o.timeoutMs)]);
    for (;;) {
      if (aborted) return { ok: false, reason: 'aborted', afterMs: elapsed(), last };
      if (exit) return { ok: false, reason: 'exited', afterMs: elapsed(), last, exit };
      if (elapsed() >= o.timeoutMs) {
        // Degraded but not yet for the whole grace: the timeout is the longest we wait, so take it as it is.
        if (last?.state === 'degraded') return { ok: true, state: 'degraded', afterMs: elapsed(), last };
        return { ok: false, reason: 'timeout', afterMs: elapsed(), last };
      }
      // A probe to a port held by a silent process can take its whole timeout: race it against exit.
      const result: ProbeResult | null = await Promise.race([o.probe(), interrupt.then(() => null)]);
      if (result) last = result;
      if (result?.state === 'healthy') return { ok: true, state: 'healthy', afterMs: elapsed(), last: result };
      if (result?.state === 'degraded') {
        degradedSince ??= Date.now();
        if (Date.now() - degradedSince >= o.degradedGraceMs) return { ok: true, state: 'degraded', afterMs: elapsed(), last: result };
      } else {
        degradedSince = null;
      }
      if (elapsed() >= nextReport) {
        o.onStillWaiting?.(last, elapsed());
        nextReport += STILL_WAITING_EVERY_MS;
      }
      await pause(Math.min(interval, Math.max(0, o.timeoutMs - elapsed())));
      interval = Math.min(MAX_INTERVAL_MS, interval * 1.5);
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}
