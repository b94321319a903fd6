/**
 * One error handler for every service: every failure becomes `{error, details, code}` with a 4xx/5xx
 * status. Bad input is never a 500: Fastify's own validation and parsing errors (FST_ERR_*) become the
 * catalogue's codes (docs/errors.md) with 400/413/415, and a write that failed on a full or read-only disk,
 * or on a database another process kept locked, is a 503 with Retry-After.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TrinityError, HttpBadRequest, HttpBodyTooLarge, HttpInternal, HttpInvalidJson, HttpNotFound, HttpUnsupportedMedia, StorageUnavailable, StoreBusy } from '../errors.js';
import { isSqliteBusy, SQLITE_BUSY_WAIT_MS } from '../store/sql.js';
import { causeCode, storageTrouble } from '../util/fs.js';

export interface ErrorBody {
  error: string;
  details: string;
  code: string;
  [extra: string]: unknown;
}

export function toErrorBody(err: TrinityError): ErrorBody {
  return { error: err.message, details: detailsOf(err), code: err.code, ...err.extra };
}

function detailsOf(err: TrinityError): string {
  const d = err.extra.details;
  return typeof d === 'string' ? d : err.message;
}

/** How long a client is asked to wait after a write failed on a full or read-only disk. */
const STORAGE_RETRY_SECONDS = 30;

/**
 * A full or read-only disk is the user's to fix and passes: a 503 the client may retry, not a 500. Errors
 * that already say what happened (a 4xx, or a more specific 503) keep their own code.
 */
function storageError(error: FastifyError | TrinityError): TrinityError | null {
  const reason = storageTrouble(error);
  if (reason === null || (error instanceof TrinityError && error.statusCode !== 500)) return null;
  return StorageUnavailable.with({ cause: error, reason, retry_after_seconds: STORAGE_RETRY_SECONDS }, reason);
}

/** How long a client is asked to wait after the database stayed locked: a writer's lock is usually brief. */
const BUSY_RETRY_SECONDS = 1;

/**
 * SQLite's write lock held by another process for the whole wait (sql.ts): the request did nothing and
 * can be sent again, so a 503 with Retry-After rather than a 500.
 */
function busyError(error: FastifyError | TrinityError): TrinityError | null {
  if ((error instanceof TrinityError && error.statusCode !== 500) || causeCode(error, isSqliteBusy) === null) return null;
  return StoreBusy.with({ cause: error, retry_after_seconds: BUSY_RETRY_SECONDS }, SQLITE_BUSY_WAIT_MS / 1000);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const err = HttpNotFound(req.method, req.url.split('?')[0]);
    void reply.code(404).send(toErrorBody(err));
  });

  app.setErrorHandler((raw: FastifyError | TrinityError, req: FastifyRequest, reply: FastifyReply) => {
    const error = storageError(raw) ?? busyError(raw) ?? raw;
    if (error instanceof TrinityError) {
      if (error.statusCode >= 500) req.log.error({ err: error }, error.message);
      // An error that says when to come back (queue full, starting, disk full) says it in the header too.
      const retry = error.extra.retry_after_seconds;
      if (typeof retry === 'number') void reply.header('retry-after', String(Math.ceil(retry)));
      void reply.code(error.statusCode).send(toErrorBody(error));
      return;
    }
    const fe = error as FastifyError;
    const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
    if (status === 500) {
      req.log.error({ err: error }, 'unhandled error');
      void reply.code(500).send(toErrorBody(HttpInternal.with({ details: 'see the service log' })));
      return;
    }
    const mapped = fromFastifyError(fe, req);
    void reply.code(mapped.statusCode).send(toErrorBody(mapped));
  });
}

/** A 4xx error of Fastify's (body parsing, schema validation) as the catalogue error a client can look up. */
function fromFastifyError(fe: FastifyError, req: FastifyRequest): TrinityError {
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge(req, req.routeOptions.bodyLimit ?? req.server.initialConfig.bodyLimit ?? 0);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return HttpUnsupportedMedia(JSON.stringify(req.headers['content-type'] ?? ''));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return HttpInvalidJson('the body is empty; send a JSON value or no content-type');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return HttpInvalidJson('it does not parse; check quoting, commas and brackets');
  }
  const message = fe.validation ? `invalid request: ${fe.message}` : fe.message;
  return new TrinityError(HttpBadRequest.code, fe.statusCode ?? 400, message);
}

/**
 * Fastify's `frameworkErrors`: errors of the router itself, raised before any route or error handler runs
 * (a malformed percent-encoding, an over-long path parameter), in the catalogue's shape like the rest.
 */
export function frameworkError(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const path = req.url.split('?')[0];
  const shown = path.length > 120 ? `${path.slice(0, 120)}…` : path;
  const err =
    error.code === 'FST_ERR_BAD_URL'
      ? new TrinityError(HttpBadRequest.code, 400, `the URL ${JSON.stringify(shown)} has a malformed percent-encoding`)
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new TrinityError(HttpBadRequest.code, 414, `a path parameter of ${JSON.stringify(shown)} is too long`)
        : HttpInternal.with({ details: 'see the service log' });
  if (err.statusCode >= 500) req.log.error({ err: error }, 'router error');
  void reply.code(err.statusCode).send(toErrorBody(err));
}

/** 413 for a body over `limit` bytes, naming the route. */
export function bodyTooLarge(req: FastifyRequest, limit: number): TrinityError {
  return HttpBodyTooLarge.with({ details: `the body of ${req.method} ${req.routeOptions.url ?? 'this route'} may be at most ${limit} bytes` }, limit);
}
