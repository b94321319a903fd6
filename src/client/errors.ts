/**
 * What the reactor client throws. Each class extends the catalogue's TrinityError, so code that already
 * handles TrinityError (the HTTP error handler, the CLI) handles these too. `ReactorHttpError` keeps the
 * reactor's own code; the others have client codes TRN_ERR_CLIENT_*. Nothing is retried here: callers
 * (the coordinator's cockatiel policies, the stream follower) decide with `isRetryable`.
 */
import { TrinityError } from '../errors.js';

/** The reactor answered with a 4xx/5xx and (usually) the JSON error body `{error, details, code}`. */
export class ReactorHttpError extends TrinityError {
  /** HTTP status of the answer (same as `statusCode`). */
  readonly status: number;
  /** The short message, `error` in the body. */
  readonly error: string;
  /** What and where, `details` in the body. */
  readonly details: string;
  /** The whole body when it was JSON (e.g. `active_job_id`, `retry_after_seconds`, `seen`). */
  readonly body: Record<string, unknown> | undefined;
  readonly method: string;
  readonly url: string;

  constructor(init: { status: number; method: string; url: string; body: Record<string, unknown> | undefined; text: string }) {
    const b = init.body;
    const error = typeof b?.error === 'string' ? b.error : `HTTP ${init.status}`;
    const details = typeof b?.details === 'string' ? b.details : b === undefined ? init.text.slice(0, 500) : error;
    const code = typeof b?.code === 'string' ? b.code : 'TRN_ERR_CLIENT_HTTP';
    const message = details && details !== error ? `${error}: ${details}` : error;
    super(code, init.status, message, b ?? {});
    this.name = 'ReactorHttpError';
    this.status = init.status;
    this.error = error;
    this.details = details;
    this.body = b;
    this.method = init.method;
    this.url = init.url;
  }
}

/** The connection could not be made or broke before an answer (refused, reset, DNS). */
export class ReactorUnreachableError extends TrinityError {
  readonly baseUrl: string;
  constructor(baseUrl: string, cause: unknown) {
    super('TRN_ERR_CLIENT_UNREACHABLE', 503, `reactor is not reachable at ${baseUrl} (${causeText(cause)})`, { baseUrl }, cause);
    this.name = 'ReactorUnreachableError';
    this.baseUrl = baseUrl;
  }
}

export class ReactorTimeoutError extends TrinityError {
  readonly timeoutMs: number;
  constructor(url: string, timeoutMs: number) {
    super('TRN_ERR_CLIENT_TIMEOUT', 504, `reactor did not answer ${url} within ${timeoutMs} ms`, { url, timeoutMs });
    this.name = 'ReactorTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** The answer was not what CONTRACT §3 says (not JSON, missing fields, a malformed stream event). */
export class ReactorBadResponseError extends TrinityError {
  constructor(what: string, details: string, cause?: unknown) {
    super('TRN_ERR_CLIENT_BAD_RESPONSE', 502, `unexpected answer from reactor for ${what}: ${details}`, { details }, cause);
    this.name = 'ReactorBadResponseError';
  }
}

export class ClientInvalidOption extends TrinityError {
  constructor(option: string, expected: string, got: unknown) {
    super('TRN_ERR_CLIENT_INVALID_OPTION', 400, `${option} must be ${expected}, got ${JSON.stringify(got)}`, { option });
    this.name = 'ClientInvalidOption';
  }
}

/**
 * Worth trying again later: the reactor could not be reached, timed out, or answered 408/429/5xx.
 * A 4xx is an answer about the request itself and repeating it gives the same answer.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ReactorUnreachableError || err instanceof ReactorTimeoutError || err instanceof ReactorStreamInterrupted) return true;
  if (err instanceof ReactorHttpError) return err.status >= 500 || err.status === 408 || err.status === 429;
  return false;
}

/** Node's fetch hides the socket error in `cause` (`TypeError: fetch failed`, cause `ECONNREFUSED`). */
export function causeText(cause: unknown): string {
  let c: unknown = cause;
  for (let depth = 0; depth < 4 && c instanceof Error; depth++) {
    const code = (c as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    if (c.cause === undefined) return c.message;
    c = c.cause;
  }
  return String(c);
}

/** A stream's bytes broke its framing (an NDJSON line that is not JSON, an SSE event too large). */
export class StreamParseError extends TrinityError {
  constructor(framing: 'sse' | 'ndjson', details: string, cause?: unknown) {
    super('TRN_ERR_CLIENT_STREAM_PARSE', 502, `malformed ${framing === 'sse' ? 'SSE' : 'NDJSON'} stream: ${details}`, { details }, cause);
    this.name = 'StreamParseError';
  }
}

/** A job stream stopped before the job's terminal event: the connection broke, went idle, or was closed. */
export class ReactorStreamInterrupted extends TrinityError {
  constructor(details: string, cause?: unknown) {
    super('TRN_ERR_CLIENT_STREAM_INTERRUPTED', 503, `job stream interrupted: ${details}`, { details }, cause);
    this.name = 'ReactorStreamInterrupted';
  }
}
