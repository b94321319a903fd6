/**
 * Following a started job to its end. The client's follower already reconnects with Last-Event-ID and
 * falls back to polling; when even that gives up (reactor is down), the job is not lost: reactor resumes
 * it from its checkpoint when it comes back, so this waits until reactor answers again and follows on
 * from the last event seen. REACTOR_API_TIMEOUT bounds the whole follow.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobEvent, TerminalJobEvent } from '../client/index.js';
import { CoordinatorJobTimeout } from '../errors.js';
import type { ReactorLink } from './reactor-link.js';
import { describeError, isOutage } from './reactor-link.js';

export interface FollowOptions {
  signal: AbortSignal;
  /** REACTOR_API_TIMEOUT in ms. */
  timeoutMs: number;
  /** Ms between health checks while reactor is away (RESOURCE_CHECK_INTERVAL). */
  retryIntervalMs: number;
  onEvent: (e: JobEvent) => void;
  /** Told when reactor went away mid-job and when following resumes. */
  onWaiting: (reason: string | null) => void;
}

/** Node timers hold at most 2^31−1 ms (24.8 days); a longer REACTOR_API_TIMEOUT means "no limit" in practice. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export async function followToEnd(link: ReactorLink, jobId: string, o: FollowOptions): Promise<TerminalJobEvent> {
  const deadline = AbortSignal.timeout(Math.min(o.timeoutMs, MAX_TIMER_MS));
  const signal = AbortSignal.any([o.signal, deadline]);
  let lastEventId: string | undefined;
  const timedOut = async () => {
    // Best effort: a job nobody follows any more should not hold reactor's trainer.
    await link.cancel(jobId).catch(() => undefined);
    return CoordinatorJobTimeout(jobId, Math.round(o.timeoutMs / 100) / 10);
  };
  for (;;) {
    try {
      const end = await link.follow(jobId, {
        signal,
        lastEventId,
        onEvent: (e) => {
          if (e.id !== undefined) lastEventId = String(e.id);
          o.onEvent(e);
        },
      });
      if (end.reason === 'terminal') return end.terminal;
    } catch (err) {
      if (!signal.aborted && !isOutage(err)) throw err;
      if (!signal.aborted) o.onWaiting(`waiting: lost Reactor-Core while training (${describeError(err)}); following again once it answers`);
    }
    if (o.signal.aborted) throw o.signal.reason;
    if (deadline.aborted) throw await timedOut();
    try {
      await waitForReactor(link, o.retryIntervalMs, signal);
    } catch (err) {
      if (o.signal.aborted) throw o.signal.reason;
      if (deadline.aborted) throw await timedOut();
      throw err;
    }
    o.onWaiting(null);
  }
}

/** Resolves once reactor answers health with anything but `starting`; checks every `intervalMs`. */
export async function waitForReactor(link: ReactorLink, intervalMs: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    try {
      const h = await link.health(signal);
      if (h.status !== 'starting') return;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!isOutage(err)) throw err;
    }
    await sleep(Math.max(10, intervalMs), undefined, { signal });
  }
}

