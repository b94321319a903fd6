/**
 * Bearer-token check: with TRINITY_API_TOKEN set, every mutating request (and every event stream, which
 * can carry private data) needs `Authorization: Bearer <token>`. Health probes and other reads stay open
 * so supervisors work. Written here rather than with @fastify/bearer-auth: that plugin guards every route
 * of its scope and reads the header only, and Trinity guards by method and route and lets the dashboard's
 * EventSource (which cannot set headers) pass `?token=` on stream routes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpUnauthorized } from '../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** `Bearer <token>`: the scheme is case-insensitive (RFC 7235), the token is taken exactly as sent. */
const BEARER = /^bearer (.+)$/is;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Constant-time equality of two strings of any length: both sides are hashed to 32 bytes first, so
 * neither the comparison nor a length check tells a caller how close a guess was.
 */
export function tokenEquals(given: string, want: string): boolean {
  return timingSafeEqual(digest(given), digest(want));
}

/** True when `header` is `Bearer <token>` with exactly this token (no whitespace trimmed). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = header === undefined ? null : BEARER.exec(header);
  return m !== null && tokenEquals(m[1], token);
}

/**
 * The route Fastify matched (`/api/training/stream/:jobId`), not the raw URL: a percent-encoded path
 * (`/api/training/%73tream/x`) reaches the same route and must need the same token.
 */
function isStreamRoute(req: FastifyRequest): boolean {
  return /\/stream(\/|$)/.test(req.routeOptions.url ?? '');
}

/** The token the request carries: the Authorization header, or `?token=` on a GET of a stream route. */
function givenAuthorization(req: FastifyRequest, stream: boolean): string | undefined {
  if (req.headers.authorization !== undefined) return req.headers.authorization;
  if (!stream || req.method !== 'GET') return undefined;
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' ? `Bearer ${q}` : undefined;
}

export function installBearerAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  app.addHook('onRequest', (req, _reply, done) => {
    const stream = isStreamRoute(req);
    if (SAFE_METHODS.has(req.method) && !stream) return done();
    done(bearerMatches(givenAuthorization(req, stream), token) ? undefined : HttpUnauthorized());
  });
}
