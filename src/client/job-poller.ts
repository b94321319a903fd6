/**
 * Following a job without its stream: poll `status` and turn each change between two snapshots into the
 * events the stream would have carried. The stream is better (every epoch, exact order, ids); this is the
 * fallback when it keeps failing (a proxy that buffers SSE, an older reactor).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable } from './errors.js';
import type { JobEvent, JobStatus, JobStreamEnd, TerminalJobEvent } from './types.js';

/** Events that lead from snapshot `prev` (undefined: nothing seen yet) to `next`. Pure. */
export function snapshotEvents(prev: JobStatus | undefined, next: JobStatus): JobEvent[] {
  const out: JobEvent[] = [];
  const job_id = next.job_id;
  if (next.status === 'queued' && prev?.status !== 'queued') out.push({ id: undefined, event: 'queued', data: { job_id, status: 'queued' } });
  const cp = next.checkpoint;
  if (cp && cp.epoch !== prev?.checkpoint?.epoch) {
    out.push({ id: undefined, event: 'checkpoint', data: { job_id, epoch: cp.epoch, checkpoint_path: cp.checkpoint_path, metrics: next.metrics } });
  }
  const progressed = next.epoch !== prev?.epoch || next.loss !== prev?.loss || prev?.status !== next.status;
  if (next.status === 'training' && progressed) {
    out.push({
      id: undefined,
      event: 'status',
      data: {
        job_id,
        status: 'training',
        epoch: next.epoch,
        total_epochs: next.total_epochs,
        loss: next.loss ?? next.metrics?.loss,
        accuracy: next.accuracy ?? next.metrics?.accuracy,
        val_loss: next.metrics?.val_loss,
        val_accuracy: next.metrics?.val_accuracy,
      },
    });
  }
  const terminal = terminalFromSnapshot(next);
  if (terminal) out.push(terminal);
  return out;
}

export function terminalFromSnapshot(s: JobStatus): TerminalJobEvent | undefined {
  const job_id = s.job_id;
  switch (s.status) {
    case 'completed':
      return { id: undefined, event: 'completed', data: { job_id, status: 'completed', model_version: s.model_version, metrics: s.metrics } };
    case 'failed':
      return { id: undefined, event: 'failed', data: { job_id, status: 'failed', error: s.error } };
    case 'cancelled':
      return { id: undefined, event: 'cancelled', data: { job_id, status: 'cancelled' } };
    default:
      return undefined;
  }
}

export interface PollOptions {
  signal: AbortSignal | undefined;
  intervalMs: number;
  maxFailures: number;
  lastEventId: string | undefined;
}

/**
 * Polls until the job ends or `signal` aborts. Transient failures (unreachable, 5xx) are retried up to
 * `maxFailures` in a row; a 4xx (job not found) is thrown at once.
 */
export async function* pollJob(
  status: (signal: AbortSignal | undefined) => Promise<JobStatus>,
  opts: PollOptions,
): AsyncGenerator<JobEvent, JobStreamEnd> {
  let prev: JobStatus | undefined;
  let failures = 0;
  for (;;) {
    if (opts.signal?.aborted) return { reason: 'aborted', lastEventId: opts.lastEventId };
    try {
      const next = await status(opts.signal);
      failures = 0;
      for (const e of snapshotEvents(prev, next)) {
        yield e;
        if (e.event === 'completed' || e.event === 'failed' || e.event === 'cancelled') {
          return { reason: 'terminal', terminal: e, lastEventId: opts.lastEventId };
        }
      }
      prev = next;
    } catch (err) {
      if (opts.signal?.aborted) return { reason: 'aborted', lastEventId: opts.lastEventId };
      if (!isRetryable(err) || ++failures > opts.maxFailures) throw err;
    }
    try {
      await sleep(opts.intervalMs, undefined, { signal: opts.signal });
    } catch {
      return { reason: 'aborted', lastEventId: opts.lastEventId };
    }
  }
}
