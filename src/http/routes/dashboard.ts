/**
 * The dashboard (issue 6): reactor serves the static page in `web/` and uPlot from node_modules, tells the
 * page what it needs to know (`GET /api/dashboard/config`), and reads JARVIS's queue and J-Prime's state
 * for it (`GET /api/dashboard/queue`, `GET /api/dashboard/prime`), so the page talks to one origin only:
 * no CORS on the other services, and one token. See docs/dashboard.md.
 *
 * Static files are a fixed table built at registration from what is on disk: a request path is only ever
 * looked up in that table, never joined onto a folder, so no request can reach another file.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.js';
import { bearerMatches } from '../auth.js';

export interface DashboardRoutesOptions {
  /** Folder with index.html, css and js. Default: `web/` at the package root. */
  webRoot?: string;
  /** Reactor's version, shown in the page header. */
  version: string;
  /** JARVIS's base URL, whose queue the page shows. */
  jarvisUrl: string;
  /** J-Prime's base URL; `primeEnabled: false` (JARVIS_PRIME_ENABLED) skips reading it. */
  primeUrl: string;
  primeEnabled: boolean;
  /** TRINITY_API_TOKEN: the page asks for it when set; also sent to JARVIS and J-Prime. Default: none. */
  apiToken?: string;
  /** Ms one read of JARVIS or J-Prime may take. Default 1 500: the page refreshes every 2 s. */
  upstreamTimeoutMs?: number;
}

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_WEB_ROOT = join(PACKAGE_ROOT, 'web');
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 1_500;
/** Larger answers from JARVIS or J-Prime are refused: the page shows lists, not bulk data. */
const MAX_UPSTREAM_BODY_CHARS = 1_000_000;
/** Deep enough for web/js/<module>.js; anything deeper is not ours. */
const MAX_WEB_DEPTH = 3;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Everything the page loads comes from this origin; uPlot styles its elements through the CSSOM, which
 * `style-src 'self'` allows.
 */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** The dashboard's settings taken from the resolved configuration. */
export function dashboardOptionsFromConfig(config: Config, version: string): DashboardRoutesOptions {
  return {
    version,
    jarvisUrl: localUrl(config.jarvis.host, config.jarvis.port),
    primeUrl: config.prime.url,
    primeEnabled: config.prime.enabled,
    apiToken: config.apiToken,
  };
}

/** A URL to reach a service bound to `host` from this machine (a wildcard bind is reached on loopback). */
export function localUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' || host === '[::]' ? '::1' : host;
  return `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
}

function toStaticFile(path: string): StaticFile {
  const body = readFileSync(path);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, type: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream', etag };
}

/** URL path → file for every servable file under `root`, plus uPlot under /vendor/uplot/. */
export function buildFileTable(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string, depth: number) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory() && depth < MAX_WEB_DEPTH) walk(full, depth + 1);
      else if (entry.isFile() && CONTENT_TYPES[extname(entry.name)]) files.set(`/${relative(root, full).split(sep).join('/')}`, toStaticFile(full));
    }
  };
  if (existsSync(root) && statSync(root).isDirectory()) walk(root, 0);
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot'));
  for (const name of ['uPlot.esm.js', 'uPlot.min.css']) files.set(`/vendor/uplot/${name}`, toStaticFile(join(uplotDist, name)));
  return files;
}

function sendFile(req: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  // `no-cache` means revalidate, not "do not store": a reload costs a 304 and always sees fresh files.
  reply.header('cache-control', 'no-cache').header('etag', file.etag).header('x-content-type-options', 'nosniff');
  if (file.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
  if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.type(file.type).send(file.body);
}

export interface UpstreamRead {
  ok: boolean;
  status: number | null;
  body: unknown;
  error: string | null;
}

/** One GET of another Trinity service. Never throws: a service that is away is something to show. */
export async function readUpstream(url: string, token: string | undefined, timeoutMs: number): Promise<UpstreamRead> {
  try {
    const res = await fetch(url, {
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (text.length > MAX_UPSTREAM_BODY_CHARS) return { ok: false, status: res.status, body: null, error: `answer larger than ${MAX_UPSTREAM_BODY_CHARS} characters` };
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      return { ok: false, status: res.status, body: null, error: `answer is not JSON (HTTP ${res.status})` };
    }
    return { ok: res.ok, status: res.status, body, error: res.ok ? null : `HTTP ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { ok: false, status: null, body: null, error: `not reachable at ${url} (${why})` };
  }
}

export const dashboardRoutes: FastifyPluginAsync<DashboardRoutesOptions> = async (app, opts) => {
  const root = opts.webRoot ?? DEFAULT_WEB_ROOT;
  const files = buildFileTable(root);
  if (!files.has('/')) app.log.warn({ web_root: root }, 'dashboard: no index.html; GET / will answer 404');
  const timeoutMs = opts.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;

  for (const [path, file] of files) app.get(path, async (req, reply) => sendFile(req, reply, file));

  app.get('/api/dashboard/config', async (req) => ({
    service: 'reactor-core',
    version: opts.version,
    jarvis_url: opts.jarvisUrl,
    prime_url: opts.primeUrl,
    prime_enabled: opts.primeEnabled,
    auth_required: opts.apiToken !== undefined,
    // null without a token to check; otherwise whether the Authorization header carries the right one.
    token_valid: opts.apiToken === undefined ? null : bearerMatches(req.headers.authorization, opts.apiToken),
  }));

  app.get('/api/dashboard/queue', async () => {
    const r = await readUpstream(`${opts.jarvisUrl}/api/training/queue`, opts.apiToken, timeoutMs);
    return { source: opts.jarvisUrl, reachable: r.ok, queue: r.ok ? r.body : null, error: r.error };
  });

  app.get('/api/dashboard/prime', async () => {
    if (!opts.primeEnabled) return { source: opts.primeUrl, enabled: false, reachable: false, health: null, stats: null, error: 'JARVIS_PRIME_ENABLED is false' };
    const [health, stats] = await Promise.all([
      readUpstream(`${opts.primeUrl}/health`, opts.apiToken, timeoutMs),
      readUpstream(`${opts.primeUrl}/api/v1/models/stats`, opts.apiToken, timeoutMs),
    ]);
    // Health answers 503 with a body while prime starts: that body is still worth showing.
    const reachable = health.status !== null;
    return {
      source: opts.primeUrl,
      enabled: true,
      reachable,
      health: health.body,
      stats: stats.ok ? stats.body : null,
      error: health.error ?? stats.error,
    };
  });
};
