/**
 * Refuses what a web page in the user's browser could send to a service on this machine:
 *
 * - a cross-site request (a page elsewhere POSTing to /api/training/cancel/… without a token): the
 *   browser says where the request comes from in `Sec-Fetch-Site` and `Origin`. Only `same-origin` and
 *   `none` (typed or bookmarked) pass; `same-site` does not, because another port on localhost is
 *   same-site but another origin. An `Origin` must be the service's own. A plain top-level navigation
 *   (a link to the dashboard) passes: it reads nothing into the other page and changes nothing.
 * - DNS rebinding (an attacker's name that resolves to 127.0.0.1): the request then carries the
 *   attacker's name in `Host`, so only loopback names (on the service's own port) and configured names
 *   (TRINITY_ALLOWED_HOSTS, the service's non-loopback bind address and URL) are answered.
 *
 * Clients that are not browsers (the CLI, the services, JARVIS's aiohttp client) send no Origin and no
 * Sec-Fetch-* headers, and pass as long as they name the service by an allowed host.
 */
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isLoopback } from '../config/config.js';
import { HttpForbiddenHost, HttpForbiddenOrigin } from '../errors.js';

const ALLOWED_FETCH_SITES = new Set(['same-origin', 'none']);

export interface OriginGuardOptions {
  /**
   * Host names answered besides the loopback names, lower case; `name` allows any port, `name:port`
   * only that one. Default: none.
   */
  allowedHosts?: readonly string[];
}

/** `host:port` split; the port is null when absent. IPv6 literals keep their brackets. */
function splitHost(host: string): { name: string; port: number | null } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host.toLowerCase());
  if (!m) return { name: host.toLowerCase(), port: null };
  return { name: m[1], port: m[2] === undefined ? null : Number(m[2]) };
}

/**
 * True when `host` (a Host header) names this service. Loopback names must carry the port the request
 * arrived on (no port means 80); the port is not checked when the socket has none (light-my-request).
 */
export function hostAllowed(host: string | undefined, localPort: number | undefined, allowed: ReadonlySet<string>): boolean {
  if (!host) return false;
  const lower = host.toLowerCase();
  const { name, port } = splitHost(lower);
  if (allowed.has(lower) || allowed.has(name)) return true;
  if (!isLoopback(name)) return false;
  return localPort === undefined || (port ?? 80) === localPort;
}

/** Why a browser request is cross-site, or null when it is not (or did not come from a browser). */
export function crossSiteReason(req: FastifyRequest): string | null {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  const navigation = req.method === 'GET' && req.headers['sec-fetch-mode'] === 'navigate' && req.headers['sec-fetch-dest'] === 'document';
  if (typeof site === 'string' && !ALLOWED_FETCH_SITES.has(site) && !navigation) return `Sec-Fetch-Site is ${site}`;
  if (origin === undefined || navigation) return null;
  let page: URL;
  try {
    page = new URL(origin);
  } catch {
    return `Origin ${JSON.stringify(origin)} is not this service`;
  }
  // The Host header was checked before; the page's origin must name the same host and port.
  const defaultPort = page.protocol === 'https:' ? 443 : 80;
  const own = splitHost(req.headers.host ?? '');
  const same = page.hostname === own.name && Number(page.port || defaultPort) === (own.port ?? defaultPort);
  return same ? null : `Origin ${origin} is not this service`;
}

/** Distinct Host headers remembered per service: a client names a service the same way every time. */
const HOST_CACHE_SIZE = 64;

export function installOriginGuard(app: FastifyInstance, opts: OriginGuardOptions = {}): void {
  const allowed = new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase()));
  // The verdict per Host header and local port, so the hot path (prime's predictions) parses neither.
  const verdicts = new Map<string, boolean>();
  const hostOk = (host: string | undefined, localPort: number | undefined): boolean => {
    const key = `${localPort}|${host}`;
    let ok = verdicts.get(key);
    if (ok === undefined) {
      ok = hostAllowed(host, localPort, allowed);
      if (verdicts.size >= HOST_CACHE_SIZE) verdicts.clear();
      verdicts.set(key, ok);
    }
    return ok;
  };
  // A callback hook, not an async one: no promise and no microtask per request.
  app.addHook('onRequest', (req, _reply, done) => {
    if (!hostOk(req.headers.host, req.socket.localPort)) return done(HttpForbiddenHost(req.headers.host ?? '(none)'));
    const why = crossSiteReason(req);
    done(why === null ? undefined : HttpForbiddenOrigin(why));
  });
}

/**
 * The configured names plus the service's own bind address and URL host when they are not loopback
 * (a wildcard bind adds nothing: clients reach it by a name of this machine, which must be configured).
 */
export function serviceAllowedHosts(configured: readonly string[], bindHost: string, url?: string): string[] {
  const out = [...configured];
  const add = (name: string, entry: string) => {
    if (name !== '' && name !== '0.0.0.0' && name !== '::' && name !== '[::]' && !isLoopback(name)) out.push(entry);
  };
  const bind = isIP(bindHost) === 6 ? `[${bindHost}]` : bindHost;
  add(bind, bind);
  if (url !== undefined) {
    const u = new URL(url);
    add(u.hostname, u.host);
  }
  return out;
}
