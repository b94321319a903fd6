/**
 * Options of the reactor client and of following a job, with their defaults filled in one place and
 * each field checked with a message naming it (bad options fail at construction, not mid-stream).
 */
import { ClientInvalidOption } from './errors.js';
import type { JobEvent } from './types.js';

export interface ReactorClientOptions {
  /** Reactor base URL, e.g. `http://127.0.0.1:8090` (config.reactor.url). A trailing slash is ignored. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` on every request (config.apiToken). Default: none. */
  token?: string;
  /**
   * Milliseconds a plain request may take, body included; for a stream, until its headers arrive.
   * Default 30 000.
   */
  timeoutMs?: number;
}

export interface ResolvedClientOptions {
  baseUrl: string;
  token: string | undefined;
  timeoutMs: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export function resolveClientOptions(o: ReactorClientOptions): ResolvedClientOptions {
  let url: URL;
  try {
    url = new URL(o.baseUrl);
  } catch {
    throw new ClientInvalidOption('baseUrl', 'an http(s) URL', o.baseUrl);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClientInvalidOption('baseUrl', 'an http(s) URL', o.baseUrl);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ClientInvalidOption('timeoutMs', 'a positive number of milliseconds', o.timeoutMs);
  const token = o.token === undefined || o.token === '' ? undefined : o.token;
  return { baseUrl: o.baseUrl.replace(/\/+$/, ''), token, timeoutMs };
}

export interface FollowJobOptions {
  /** Stops following (the job keeps running); the promise resolves with `reason: 'aborted'`. */
  signal?: AbortSignal;
  /** Resume after this event (sent as `Last-Event-ID`). Default: from the job's first event. */
  lastEventId?: string;
  /** Consecutive failed connections before falling back to polling `status`. Default 5. */
  maxReconnects?: number;
  /** First reconnect delay in ms; doubles each attempt up to `maxReconnectDelayMs`. Default 250. */
  reconnectDelayMs?: number;
  /** Ceiling of the reconnect delay in ms. Default 5 000. */
  maxReconnectDelayMs?: number;
  /**
   * Ms without a byte (event or keep-alive comment) before the connection counts as dropped. The
   * reactor comments every 15 s, so the default 45 000 tolerates two lost keep-alives.
   */
  idleTimeoutMs?: number;
  /** Ms between `status` polls once streaming has failed `maxReconnects` times. Default 1 000. */
  pollIntervalMs?: number;
  /** Consecutive failed polls before giving up with the last error. Default 10. */
  maxPollFailures?: number;
  /** Told before each reconnect, e.g. to show "connection lost, retrying". */
  onReconnect?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Told once when streaming is given up for polling. */
  onFallback?: (error: unknown) => void;
}

export interface StreamJobOptions extends FollowJobOptions {
  /** Called for every event, in order, each exactly once. */
  onEvent?: (event: JobEvent) => void | Promise<void>;
}

export type ResolvedFollowOptions = Required<Omit<FollowJobOptions, 'signal' | 'lastEventId' | 'onReconnect' | 'onFallback'>> &
  Pick<FollowJobOptions, 'signal' | 'lastEventId' | 'onReconnect' | 'onFallback'>;

export function resolveFollowOptions(o: FollowJobOptions): ResolvedFollowOptions {
  const r: ResolvedFollowOptions = {
    ...o,
    maxReconnects: o.maxReconnects ?? 5,
    reconnectDelayMs: o.reconnectDelayMs ?? 250,
    maxReconnectDelayMs: o.maxReconnectDelayMs ?? 5_000,
    idleTimeoutMs: o.idleTimeoutMs ?? 45_000,
    pollIntervalMs: o.pollIntervalMs ?? 1_000,
    maxPollFailures: o.maxPollFailures ?? 10,
  };
  for (const key of ['maxReconnects', 'maxPollFailures'] as const) {
    if (!Number.isInteger(r[key]) || r[key] < 0) throw new ClientInvalidOption(key, 'an integer >= 0', r[key]);
  }
  for (const key of ['reconnectDelayMs', 'maxReconnectDelayMs', 'idleTimeoutMs', 'pollIntervalMs'] as const) {
    if (!Number.isFinite(r[key]) || r[key] <= 0) throw new ClientInvalidOption(key, 'a positive number of milliseconds', r[key]);
  }
  return r;
}
