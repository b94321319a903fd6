/**
 * One HTTP exchange with the reactor over Node's built-in fetch: bearer token, deadline, and mapping of
 * every failure to the client's error classes. No retries (see errors.ts `isRetryable`).
 */
import type { z } from 'zod';
import { ReactorBadResponseError, ReactorHttpError, ReactorTimeoutError, ReactorUnreachableError } from './errors.js';
import type { ResolvedClientOptions } from './options.js';

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses besides 2xx that are answers, not errors (health answers 503 while starting). */
  okStatuses?: readonly number[];
}

/** A response whose body is still to be read, with `release()` to stop the deadline once it is. */
export interface OpenResponse {
  response: Response;
  url: string;
  /** Clears the deadline timer; call it once the body is read or handed to a long-lived reader. */
  release(): void;
}

export function buildUrl(baseUrl: string, path: string, query?: Record<string, string | undefined>): string {
  const url = new URL(baseUrl + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  return url.toString();
}

/**
 * Sends the request and waits for the headers. A non-ok status is read and thrown as ReactorHttpError.
 * The deadline (`timeoutMs`) keeps running until `release()` so it also covers reading a plain body.
 */
export async function open(opts: ResolvedClientOptions, spec: RequestSpec): Promise<OpenResponse> {
  const url = buildUrl(opts.baseUrl, spec.path, spec.query);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new ReactorTimeoutError(url, opts.timeoutMs)), opts.timeoutMs);
  const release = () => clearTimeout(timer);
  const signal = spec.signal ? AbortSignal.any([spec.signal, deadline.signal]) : deadline.signal;
  const headers: Record<string, string> = { accept: 'application/json', ...spec.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (spec.body !== undefined) headers['content-type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(url, {
      method: spec.method,
      headers,
      body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
      signal,
    });
  } catch (err) {
    release();
    throw mapFetchError(err, opts.baseUrl, spec.signal, deadline.signal);
  }
  if (!response.ok && !(spec.okStatuses ?? []).includes(response.status)) {
    try {
      const text = await response.text();
      throw new ReactorHttpError({ status: response.status, method: spec.method, url, body: parseObject(text), text });
    } catch (err) {
      throw err instanceof ReactorHttpError ? err : mapFetchError(err, opts.baseUrl, spec.signal, deadline.signal);
    } finally {
      release();
    }
  }
  return { response, url, release };
}

/** Sends the request and returns its JSON body checked against `schema`. */
export async function requestJson<S extends z.ZodType>(opts: ResolvedClientOptions, spec: RequestSpec, schema: S): Promise<z.output<S>> {
  const { response, url, release } = await open(opts, spec);
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    throw mapFetchError(err, opts.baseUrl, spec.signal, undefined);
  } finally {
    release();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ReactorBadResponseError(`${spec.method} ${url}`, `body is not JSON: ${JSON.stringify(text.slice(0, 200))}`, err);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new ReactorBadResponseError(`${spec.method} ${url}`, issues, parsed.error);
  }
  return parsed.data;
}

/**
 * The caller's own abort passes through untouched (they asked for it); our deadline becomes
 * ReactorTimeoutError; anything else from fetch is a connection problem.
 */
export function mapFetchError(err: unknown, baseUrl: string, callerSignal: AbortSignal | undefined, deadline: AbortSignal | undefined): unknown {
  if (callerSignal?.aborted) return callerSignal.reason;
  if (deadline?.aborted) return deadline.reason;
  if (err instanceof ReactorTimeoutError || err instanceof ReactorHttpError) return err;
  return new ReactorUnreachableError(baseUrl, err);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
