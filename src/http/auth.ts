/**
 * Bearer-token check: with TRINITY_API_TOKEN set, every mutating request (and every stream, which can
 * carry private data) needs `Authorization: Bearer <token>`. Health probes stay open so supervisors work.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HttpUnauthorized } from '../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7).trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function installBearerAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0];
    const needsToken = !SAFE_METHODS.has(req.method) || path.includes('/stream');
    if (!needsToken) return;
    // EventSource cannot set headers, so the dashboard may pass the token as ?token= on streams.
    const q = (req.query as Record<string, unknown> | undefined)?.token;
    const header = req.headers.authorization ?? (typeof q === 'string' ? `Bearer ${q}` : undefined);
    if (!tokenMatches(header, token)) throw HttpUnauthorized();
  });
}
