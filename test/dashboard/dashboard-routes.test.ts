import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/create-app.js';
import { DEFAULT_WEB_ROOT, dashboardRoutes, localUrl, type DashboardRoutesOptions } from '../../src/http/routes/dashboard.js';
import { createLogger } from '../../src/util/logger.js';
import { tempHome } from '../helpers/processes.js';

const TOKEN = 'route-test-token';
const logger = createLogger({ service: 'reactor', level: 'silent' });

/** An app as reactor builds it (auth, error handler) with only the dashboard registered. */
async function dashboardApp(opts: Partial<DashboardRoutesOptions> = {}): Promise<FastifyInstance> {
  const app = createApp({ logger, bodyLimitBytes: 1024, apiToken: opts.apiToken });
  await app.register(dashboardRoutes, { version: '9.9.9', jarvisUrl: 'http://127.0.0.1:9', primeUrl: 'http://127.0.0.1:9', primeEnabled: true, ...opts });
  return app;
}

describe('dashboardRoutes static files', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await dashboardApp();
  });
  afterAll(() => app.close());

  it('serves web/index.html at / with a strict content security policy', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<script type="module" src="js/main.js">');
  });

  it.each([
    ['/js/main.js', 'text/javascript; charset=utf-8'],
    ['/styles.css', 'text/css; charset=utf-8'],
    ['/vendor/uplot/uPlot.esm.js', 'text/javascript; charset=utf-8'],
    ['/vendor/uplot/uPlot.min.css', 'text/css; charset=utf-8'],
  ])('serves %s as %s', async (url, type) => {
    const res = await app.inject({ url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(type);
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('answers 304 to a request carrying the current ETag', async () => {
    const first = await app.inject({ url: '/js/main.js' });
    const again = await app.inject({ url: '/js/main.js', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it.each(['/../package.json', '/js/%2e%2e/%2e%2e/package.json', '/vendor/uplot/../../package.json', '/vendor/uplot/uPlot.d.ts', '/index.html%00.js'])(
    'answers 404 with the JSON error for %s',
    async (url) => {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'TRN_ERR_HTTP_NOT_FOUND' });
    },
  );

  it('serves only the files that were in the web folder at registration', async () => {
    const root = join(tempHome(), 'web');
    mkdirSync(join(root, 'js'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(root, 'js', 'a.js'), 'export {};');
    writeFileSync(join(root, 'secret.txt'), 'not served');
    writeFileSync(join(root, '.hidden.js'), 'not served');
    const own = await dashboardApp({ webRoot: root });
    try {
      expect((await own.inject({ url: '/js/a.js' })).statusCode).toBe(200);
      expect((await own.inject({ url: '/secret.txt' })).statusCode).toBe(404);
      expect((await own.inject({ url: '/.hidden.js' })).statusCode).toBe(404);
      writeFileSync(join(root, 'js', 'later.js'), 'export {};');
      expect((await own.inject({ url: '/js/later.js' })).statusCode).toBe(404);
    } finally {
      await own.close();
    }
  });

  it('defaults to the web folder at the package root', () => {
    expect(DEFAULT_WEB_ROOT.endsWith('/web')).toBe(true);
  });
});

describe('dashboardRoutes config', () => {
  it('says no token is needed when reactor has none', async () => {
    const app = await dashboardApp({ jarvisUrl: 'http://127.0.0.1:8010', primeUrl: 'http://127.0.0.1:8002' });
    const body = (await app.inject({ url: '/api/dashboard/config' })).json();
    expect(body).toEqual({
      service: 'reactor-core',
      version: '9.9.9',
      jarvis_url: 'http://127.0.0.1:8010',
      prime_url: 'http://127.0.0.1:8002',
      prime_enabled: true,
      auth_required: false,
      token_valid: null,
    });
    await app.close();
  });

  it('tells a missing or wrong token from the right one, and still serves the page without one', async () => {
    const app = await dashboardApp({ apiToken: TOKEN });
    const valid = async (authorization?: string) =>
      (await app.inject({ url: '/api/dashboard/config', headers: authorization ? { authorization } : {} })).json<{ token_valid: boolean }>().token_valid;
    expect(await valid()).toBe(false);
    expect(await valid('Bearer nope')).toBe(false);
    expect(await valid(`Bearer ${TOKEN}`)).toBe(true);
    expect((await app.inject({ url: '/' })).statusCode).toBe(200);
    await app.close();
  });

  it('reaches a wildcard bind on loopback', () => {
    expect(localUrl('0.0.0.0', 8010)).toBe('http://127.0.0.1:8010');
    expect(localUrl('::', 8010)).toBe('http://[::1]:8010');
    expect(localUrl('127.0.0.1', 8010)).toBe('http://127.0.0.1:8010');
  });
});

describe('dashboardRoutes reads of JARVIS and J-Prime', () => {
  let upstream: FastifyInstance;
  let upstreamUrl: string;
  const seenAuth: (string | undefined)[] = [];
  beforeAll(async () => {
    upstream = Fastify();
    upstream.addHook('onRequest', async (req) => {
      seenAuth.push(req.headers.authorization);
    });
    upstream.get('/api/training/queue', async () => ({ length: 1, running: 0, jobs: [{ job_id: 'j1', waiting_reason: 'waiting: behind nothing' }] }));
    upstream.get('/health', async (_req, reply) => reply.code(503).send({ status: 'starting', service: 'j-prime' }));
    upstream.get('/api/v1/models/stats', async () => ({ instance_id: 'p1', models: {} }));
    upstreamUrl = await upstream.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => upstream.close());

  it('passes the queue through with the token, so the page needs one origin only', async () => {
    const app = await dashboardApp({ jarvisUrl: upstreamUrl, apiToken: TOKEN });
    const body = (await app.inject({ url: '/api/dashboard/queue' })).json();
    expect(body).toEqual({ source: upstreamUrl, reachable: true, error: null, queue: { length: 1, running: 0, jobs: [{ job_id: 'j1', waiting_reason: 'waiting: behind nothing' }] } });
    expect(seenAuth).toContain(`Bearer ${TOKEN}`);
    await app.close();
  });

  it('shows a starting J-Prime as reachable with its health body and stats', async () => {
    const app = await dashboardApp({ primeUrl: upstreamUrl });
    const body = (await app.inject({ url: '/api/dashboard/prime' })).json();
    expect(body).toMatchObject({ reachable: true, health: { status: 'starting' }, stats: { instance_id: 'p1' }, error: 'HTTP 503' });
    await app.close();
  });

  it('answers 200 with reachable false and the reason when a service is away', async () => {
    const app = await dashboardApp({ jarvisUrl: 'http://127.0.0.1:9', primeUrl: 'http://127.0.0.1:9' });
    const queue = (await app.inject({ url: '/api/dashboard/queue' })).json();
    expect(queue).toMatchObject({ reachable: false, queue: null, error: expect.stringContaining('not reachable at http://127.0.0.1:9') });
    const prime = (await app.inject({ url: '/api/dashboard/prime' })).json();
    expect(prime).toMatchObject({ reachable: false, health: null, stats: null });
    await app.close();
  });

  it('does not read J-Prime when JARVIS_PRIME_ENABLED is false', async () => {
    const before = seenAuth.length;
    const app = await dashboardApp({ primeUrl: upstreamUrl, primeEnabled: false });
    const body = (await app.inject({ url: '/api/dashboard/prime' })).json();
    expect(body).toMatchObject({ enabled: false, reachable: false });
    expect(seenAuth.length).toBe(before);
    await app.close();
  });

  it('gives up on a service that does not answer within the timeout', async () => {
    const slow = Fastify({ forceCloseConnections: true });
    slow.get('/api/training/queue', () => new Promise(() => {}));
    const slowUrl = await slow.listen({ host: '127.0.0.1', port: 0 });
    const app = await dashboardApp({ jarvisUrl: slowUrl, upstreamTimeoutMs: 100 });
    const body = (await app.inject({ url: '/api/dashboard/queue' })).json();
    expect(body).toMatchObject({ reachable: false, error: expect.stringContaining('no answer within 100 ms') });
    await app.close();
    await slow.close();
  });
});
