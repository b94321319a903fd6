/**
 * Following a deployment's decisions over SSE (`GET /api/models/deployments/{id}/stream`) until it ends:
 * reconnects with `Last-Event-ID` after a dropped connection, so each decision reaches the caller once.
 * Simpler than a job's follower: decisions are few and the log is complete, so there is no polling mode.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { TrinityError } from '../errors.js';
import { deploymentEventDataSchema, DEPLOYMENT_TERMINAL_EVENTS } from './deployment-schemas.js';
import { ReactorBadResponseError, ReactorStreamInterrupted, isRetryable } from './errors.js';
import { parseEventId } from './job-events.js';
import type { OpenResponse } from './request.js';
import { readSse, type SseMessage } from './sse.js';

export type DeploymentEventData = z.infer<typeof deploymentEventDataSchema>;

/** One decision of the log: `event` is its past-tense name (started, advanced, rolled_back, …). */
export interface DeploymentEvent {
  id: number | undefined;
  event: string;
  data: DeploymentEventData;
}

export type DeploymentStreamEnd = { reason: 'terminal'; terminal: DeploymentEvent } | { reason: 'aborted' };

export interface FollowDeploymentOptions {
  signal?: AbortSignal;
  /** Consecutive failed connections before giving up with the last error. Default 5. */
  maxReconnects?: number;
  /** First reconnect delay in ms, doubling up to 5 s. Default 250. */
  reconnectDelayMs?: number;
  /** Told before each reconnect. */
  onReconnect?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** The reactor comments every 15 s; three silent periods mean the connection is gone. */
const IDLE_TIMEOUT_MS = 45_000;
const MAX_RECONNECT_DELAY_MS = 5_000;

export function isTerminalDeploymentEvent(name: string): boolean {
  return (DEPLOYMENT_TERMINAL_EVENTS as readonly string[]).includes(name);
}

function toEvent(m: SseMessage): DeploymentEvent | undefined {
  if (m.event === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(m.data);
  } catch (err) {
    throw new ReactorBadResponseError(`deployment event ${m.event}`, `data is not JSON: ${JSON.stringify(m.data.slice(0, 120))}`, err);
  }
  const parsed = deploymentEventDataSchema.safeParse(data);
  if (!parsed.success) throw new ReactorBadResponseError(`deployment event ${m.event}`, parsed.error.message, parsed.error);
  return { id: parseEventId(m.id), event: m.event, data: parsed.data };
}

export async function* followDeployment(
  openStream: (lastEventId: string | undefined, signal: AbortSignal) => Promise<OpenResponse>,
  o: FollowDeploymentOptions = {},
): AsyncGenerator<DeploymentEvent, DeploymentStreamEnd> {
  const maxReconnects = o.maxReconnects ?? 5;
  const baseDelay = o.reconnectDelayMs ?? 250;
  let last: string | undefined;
  let failures = 0;
  for (;;) {
    if (o.signal?.aborted) return { reason: 'aborted' };
    const conn = new AbortController();
    const signal = o.signal ? AbortSignal.any([o.signal, conn.signal]) : conn.signal;
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => conn.abort(new ReactorStreamInterrupted(`no data for ${IDLE_TIMEOUT_MS} ms`)), IDLE_TIMEOUT_MS);
    };
    let error: unknown;
    try {
      const { response, release } = await openStream(last, signal);
      release();
      if (!response.body) throw new ReactorStreamInterrupted('the answer has no body');
      touch();
      for await (const m of readSse(response.body, { onComment: touch })) {
        touch();
        const known = parseEventId(last);
        const id = parseEventId(m.id);
        if (known !== undefined && id !== undefined && id <= known) continue;
        if (m.id !== undefined) last = m.id;
        const event = toEvent(m);
        if (!event) continue;
        failures = 0;
        yield event;
        if (isTerminalDeploymentEvent(event.event)) return { reason: 'terminal', terminal: event };
      }
      throw new ReactorStreamInterrupted('the reactor closed the stream before the deployment ended');
    } catch (caught) {
      if (o.signal?.aborted) return { reason: 'aborted' };
      error = conn.signal.aborted ? conn.signal.reason : caught instanceof TrinityError ? caught : new ReactorStreamInterrupted(String(caught), caught);
      if (!isRetryable(error) || ++failures > maxReconnects) throw error;
    } finally {
      clearTimeout(idle);
      conn.abort();
    }
    const delayMs = Math.min(baseDelay * 2 ** (failures - 1), MAX_RECONNECT_DELAY_MS);
    o.onReconnect?.({ attempt: failures, delayMs, error });
    try {
      await sleep(delayMs, undefined, { signal: o.signal });
    } catch {
      return { reason: 'aborted' };
    }
  }
}
