/**
 * Following one job's event log over SSE (CONTRACT §3 "Streams"): resume with `Last-Event-ID` after a
 * dropped connection, skip anything already delivered, stop after the terminal event, and fall back to
 * polling `status` when the stream keeps failing. Every event reaches the caller exactly once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TrinityError } from '../errors.js';
import { ReactorBadResponseError, ReactorHttpError, ReactorStreamInterrupted, isRetryable } from './errors.js';
import { isTerminalEvent, jobEventFromSse, parseEventId } from './job-events.js';
import { pollJob } from './job-poller.js';
import type { ResolvedFollowOptions } from './options.js';
import type { OpenResponse } from './request.js';
import { readSse } from './sse.js';
import type { JobEvent, JobStatus, JobStreamEnd } from './types.js';

export interface FollowDeps {
  /** Opens `GET /api/training/stream/{job_id}` with `Accept: text/event-stream`, resuming after `lastEventId`. */
  openStream(lastEventId: string | undefined, signal: AbortSignal): Promise<OpenResponse>;
  /** `GET /api/training/status/{job_id}`, for the polling fallback. */
  status(signal: AbortSignal | undefined): Promise<JobStatus>;
}

type Verdict = 'reconnect' | 'poll' | 'throw';

/**
 * What a failed connection means. Retryable failures reconnect. An answer that says the stream itself is
 * unusable (no such route, not SSE, malformed events) goes straight to polling, which would only see the
 * same answer again. A 4xx about the job or the caller (not found, unauthorised) is final.
 */
function classify(err: unknown): Verdict {
  if (isRetryable(err)) return 'reconnect';
  if (err instanceof ReactorHttpError) {
    if (err.status === 404 && err.code === 'TRN_ERR_HTTP_NOT_FOUND') return 'poll';
    if (err.status === 405 || err.status === 406 || err.status === 501) return 'poll';
    return 'throw';
  }
  return 'poll';
}

/** True when `id` is at or before `last`: the server resent something the caller already has. */
function isDelivered(id: string | undefined, last: string | undefined): boolean {
  const a = parseEventId(id);
  const b = parseEventId(last);
  return a !== undefined && b !== undefined && a <= b;
}

/** Passes chunks through, calling `touch` on each, so the idle timer sees keep-alive comments too. */
async function* tap<T>(source: AsyncIterable<T>, touch: () => void): AsyncGenerator<T> {
  for await (const chunk of source) {
    touch();
    yield chunk;
  }
}

export async function* followJob(deps: FollowDeps, opts: ResolvedFollowOptions): AsyncGenerator<JobEvent, JobStreamEnd> {
  let last = opts.lastEventId;
  let failures = 0;
  let lastError: unknown;
  const seen = new ProgressMark();
  const aborted = (): JobStreamEnd => ({ reason: 'aborted', lastEventId: last });

  for (;;) {
    if (opts.signal?.aborted) return aborted();
    const conn = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, conn.signal]) : conn.signal;
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(new ReactorStreamInterrupted(`no data for ${opts.idleTimeoutMs} ms`)), opts.idleTimeoutMs);
    };
    let verdict: Verdict;
    try {
      const { response, release } = await deps.openStream(last, signal);
      // The request deadline covered the headers; from here the idle timer decides.
      release();
      const type = response.headers.get('content-type') ?? '';
      // A reactor (or proxy) that ignores Accept would send NDJSON we would read as zero events.
      if (!type.includes('text/event-stream')) throw new ReactorBadResponseError('the job stream', `content-type is ${JSON.stringify(type)}, not text/event-stream`);
      if (!response.body) throw new ReactorStreamInterrupted('the answer has no body');
      touch();
      for await (const msg of readSse(tap(response.body, touch))) {
        if (isDelivered(msg.id, last)) continue;
        const event = jobEventFromSse(msg);
        if (msg.id !== undefined) last = msg.id;
        if (!event) continue;
        failures = 0;
        seen.note(event);
        yield event;
        if (isTerminalEvent(event)) return { reason: 'terminal', terminal: event, lastEventId: last };
      }
      throw new ReactorStreamInterrupted('the reactor closed the stream before the job ended');
    } catch (caught) {
      if (opts.signal?.aborted) return aborted();
      // Body reads fail with fetch's raw errors ("terminated") or our idle reason; all mean "dropped".
      const err = conn.signal.aborted ? conn.signal.reason : caught instanceof TrinityError ? caught : new ReactorStreamInterrupted(String(caught), caught);
      verdict = classify(err);
      if (verdict === 'throw') throw err;
      lastError = err;
    } finally {
      clearTimeout(idle);
      conn.abort();
    }
    if (verdict === 'poll' || ++failures > opts.maxReconnects) break;
    const delayMs = Math.min(opts.reconnectDelayMs * 2 ** (failures - 1), opts.maxReconnectDelayMs);
    opts.onReconnect?.({ attempt: failures, delayMs, error: lastError });
    try {
      await sleep(delayMs, undefined, { signal: opts.signal });
    } catch {
      return aborted();
    }
  }
  opts.onFallback?.(lastError);
  const polled = pollJob(deps.status, {
    signal: opts.signal,
    intervalMs: opts.pollIntervalMs,
    maxFailures: opts.maxPollFailures,
    lastEventId: last,
  });
  try {
    for (;;) {
      const step = await polled.next();
      if (step.done) return step.value;
      if (seen.covers(step.value)) continue;
      seen.note(step.value);
      yield step.value;
    }
  } finally {
    // The caller may stop us while the poller is suspended at a yield; let it finish too.
    await polled.return(aborted());
  }
}

/**
 * How far the caller has been told, so the polling fallback does not repeat the epoch or checkpoint
 * the stream already delivered before it failed.
 */
class ProgressMark {
  private queued = false;
  private epoch = -1;
  private checkpointEpoch = -1;

  note(e: JobEvent): void {
    if (e.event === 'queued') this.queued = true;
    if (e.event === 'status') this.epoch = Math.max(this.epoch, e.data.epoch ?? -1);
    if (e.event === 'checkpoint') this.checkpointEpoch = Math.max(this.checkpointEpoch, e.data.epoch ?? -1);
  }

  covers(e: JobEvent): boolean {
    if (e.event === 'queued') return this.queued || this.epoch >= 0;
    if (e.event === 'status') return (e.data.epoch ?? -1) <= this.epoch && this.epoch >= 0;
    if (e.event === 'checkpoint') return (e.data.epoch ?? -1) <= this.checkpointEpoch && this.checkpointEpoch >= 0;
    return false;
  }
}
