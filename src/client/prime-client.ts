/**
 * Reactor's small client for J-Prime's deployment endpoints (docs/prime-protocol.md): read the outcome
 * counters, push a traffic split. Answers are checked at the edge; failures are the catalogue's
 * TRN_ERR_DEPLOY_PRIME_* errors. No retries: the deployment controller tries again on its next tick.
 */
import { z } from 'zod';
import { DeployInvalidOption, DeployPrimeBadResponse, DeployPrimeRejected, DeployPrimeUnreachable } from '../errors.js';
import { causeText } from './errors.js';

export interface PrimeClientOptions {
  /** Prime's base URL (config.prime.url). */
  baseUrl: string;
  /** Bearer token (config.apiToken). Default: none. */
  token?: string;
  /** Ms a stats read may take. Default 2 000: the controller ticks every second and must not pile up. */
  statsTimeoutMs?: number;
  /** Ms a split push may take; prime loads and warms new versions before it answers. Default 60 000. */
  splitTimeoutMs?: number;
}

const count = z.number().int().min(0).catch(0);
const versionCounts = z.looseObject({ requests: count, errors: count, feedback_success: count, feedback_failure: count });

export const primeStatsSchema = z.looseObject({
  instance_id: z.string().min(1),
  started_at: z.string().nullish(),
  models: z.record(z.string(), z.record(z.string(), versionCounts)),
});
export type PrimeStatsWire = z.infer<typeof primeStatsSchema>;

export interface SplitRequest {
  model_type: string;
  stable: string | null;
  canary: string | null;
  canary_percentage: number;
  deployment_id: string | null;
}

export const splitAckSchema = z.looseObject({
  model_type: z.string(),
  stable: z.string().nullable(),
  canary: z.string().nullable(),
  canary_percentage: z.number(),
  applied_at: z.union([z.string(), z.number()]).nullish(),
});
export type SplitAck = z.infer<typeof splitAckSchema>;

export class PrimeClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #statsTimeoutMs: number;
  readonly #splitTimeoutMs: number;

  constructor(o: PrimeClientOptions) {
    let url: URL | undefined;
    try {
      url = new URL(o.baseUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw DeployInvalidOption('PrimeClient', 'baseUrl', 'an http(s) URL', o.baseUrl);
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.#token = o.token === '' ? undefined : o.token;
    this.#statsTimeoutMs = positive('statsTimeoutMs', o.statsTimeoutMs ?? 2_000);
    this.#splitTimeoutMs = positive('splitTimeoutMs', o.splitTimeoutMs ?? 60_000);
  }

  /** `GET /api/v1/models/stats`: prime's cumulative counters since it started. */
  async stats(signal?: AbortSignal): Promise<PrimeStatsWire> {
    const { status, body } = await this.#send('GET', '/api/v1/models/stats', undefined, this.#statsTimeoutMs, signal);
    if (status !== 200) throw DeployPrimeBadResponse.with({ status }, 'stats', `status ${status}`);
    return check(primeStatsSchema, body, 'stats');
  }

  /** `POST /api/v1/models/split`; resolves once prime serves the new table. 422: a version failed to load or probe. */
  async pushSplit(split: SplitRequest, signal?: AbortSignal): Promise<SplitAck> {
    const { status, body } = await this.#send('POST', '/api/v1/models/split', split, this.#splitTimeoutMs, signal);
    if (status === 422) {
      const b = isObject(body) ? body : {};
      const version = typeof b.version === 'string' ? b.version : null;
      const reason = [b.error, b.details].filter((x) => typeof x === 'string' && x !== '').join(': ') || 'a version failed to load';
      throw DeployPrimeRejected.with({ version, details: reason }, split.model_type, reason);
    }
    if (status !== 200) throw DeployPrimeBadResponse.with({ status }, 'split', `status ${status}: ${JSON.stringify(body).slice(0, 200)}`);
    return check(splitAckSchema, body, 'split');
  }

  async #send(method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ status: number; body: unknown }> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      });
      const text = await res.text();
      return { status: res.status, body: parseJson(text) };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const why = deadline.aborted ? `no answer within ${timeoutMs} ms` : causeText(err);
      throw DeployPrimeUnreachable.with({ cause: err }, this.baseUrl, why);
    }
  }
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw DeployInvalidOption('PrimeClient', name, 'a positive number of milliseconds', v);
  return v;
}

function check<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  throw DeployPrimeBadResponse(what, issues);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

