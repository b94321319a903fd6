/**
 * The HTTP guards every service shares (createApp): cross-site and rebinding refusals, the bearer token,
 * and Fastify's own errors as catalogue codes. A real listening app, so the Host port is checked against
 * the port the request arrived on.
 */
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/create-app.js';
import { parseConfig } from '../../src/config/config.js';
import { serviceAllowedHosts } from '../../src/http/origin-guard.js';
import { useStreamingJson } from '../../src/http/streaming-json.js';
import { rawFetch } from '../helpers/raw-http.js';

async function listening(apiToken?: string, allowedHosts: string[] = []): Promise<{ app: FastifyInstance; base: string; port: number }> {
  const app = createApp({ logger: pino({ level: 'silent' }), bodyLimitBytes: 1024, apiToken, allowedHosts });
  let cancels = 0;
  app.post('/api/training/cancel/:jobId', async () => ({ cancelled: ++cancels }));
  app.post('/api/echo', async (req) => ({ body: req.body as unknown }));
  app.get('/api/training/jobs', async () => ({ jobs: [] }));
  app.get('/api/training/stream/:jobId', async () => ({ events: ['private'] }));
  app.get('/api/models/deployments/:id/stream', async () => ({ events: ['private'] }));
  app.get('/', async () => 'page');
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  return { app, base: `http://127.0.0.1:${port}`, port };
}

describe('cross-site and DNS-rebinding requests (no token set)', () => {
  let s: Awaited<ReturnType<typeof listening>>;
  beforeAll(async () => {
    s = await listening();
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it('refuses a cross-site page: text/plain and bodyless POSTs with another Origin or Sec-Fetch-Site', async () => {
    const cancel = `${s.base}/api/training/cancel/job-1`;
    const attempts: Record<string, string>[] = [
      { origin: 'http://evil.example', 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
      { origin: 'http://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      // Another port on localhost is same-site but another origin.
      { origin: 'http://localhost:3000', 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
    ];
    for (const headers of attempts) {
      const res = await rawFetch(cancel, { method: 'POST', headers, body: headers['content-type'] ? 'x' : undefined });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.json, JSON.stringify(headers)).toMatchObject({ code: 'TRN_ERR_HTTP_FORBIDDEN_ORIGIN', error: expect.stringMatching(/cross-site/) });
    }
    // A cross-site GET that reads (fetch from another page) is refused too.
    const read = await rawFetch(`${s.base}/api/training/jobs`, { headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' } });
    expect(read.status).toBe(403);
  });

  it('answers the page itself (same-origin, Origin equal to the service), typed URLs and link navigations', async () => {
    const own = await rawFetch(`${s.base}/api/training/cancel/job-1`, {
      method: 'POST',
      headers: { origin: s.base, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(own.status).toBe(200);
    const localhostOrigin = `http://localhost:${s.port}`;
    const viaLocalhost = await rawFetch(`${s.base}/api/training/cancel/job-1`, {
      method: 'POST',
      headers: { host: `localhost:${s.port}`, origin: localhostOrigin, 'sec-fetch-site': 'same-origin' },
    });
    expect(viaLocalhost.status).toBe(200);
    expect((await rawFetch(`${s.base}/`, { headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } })).status).toBe(200);
    // A link to the dashboard from another site opens it (a navigation reads nothing into that site).
    const link = await rawFetch(`${s.base}/`, { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
    expect(link.status).toBe(200);
    // …but a cross-site form POST navigation is not a plain read.
    const form = await rawFetch(`${s.base}/api/training/cancel/job-1`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    });
    expect(form.status).toBe(403);
  });

  it('refuses a Host that is not loopback on this port (DNS rebinding), and names the setting', async () => {
    for (const host of [`evil.example:${s.port}`, `127.0.0.1.nip.io:${s.port}`, `localhost:${s.port + 1}`, '']) {
      const res = await rawFetch(`${s.base}/api/training/jobs`, { headers: { host } });
      expect(res.status, host).toBe(403);
      expect(res.json, host).toMatchObject({ code: 'TRN_ERR_HTTP_FORBIDDEN_HOST', error: expect.stringMatching(/TRINITY_ALLOWED_HOSTS/) });
    }
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `LOCALHOST:${s.port}`, `127.1.2.3:${s.port}`]) {
      expect((await rawFetch(`${s.base}/api/training/jobs`, { headers: { host } })).status, host).toBe(200);
    }
  });

  it('answers configured names (TRINITY_ALLOWED_HOSTS) and a non-loopback bind address', async () => {
    const config = parseConfig({ TRINITY_ALLOWED_HOSTS: 'trinity.lan, Proxy.example:8443', REACTOR_CORE_HOST: '192.168.7.2', TRINITY_API_TOKEN: 't' });
    const hosts = serviceAllowedHosts(config.allowedHosts, config.reactor.host, config.reactor.url);
    expect(hosts).toEqual(['trinity.lan', 'proxy.example:8443', '192.168.7.2', '192.168.7.2:8090']);
    expect(serviceAllowedHosts([], '127.0.0.1', 'http://127.0.0.1:8090')).toEqual([]);
    expect(() => parseConfig({ TRINITY_ALLOWED_HOSTS: 'http://x.example/' })).toThrow(/TRINITY_ALLOWED_HOSTS/);

    const named = await listening(undefined, hosts);
    try {
      for (const host of ['trinity.lan', 'trinity.lan:9999', 'proxy.example:8443', `192.168.7.2:${named.port}`]) {
        expect((await rawFetch(`${named.base}/api/training/jobs`, { headers: { host } })).status, host).toBe(200);
      }
      expect((await rawFetch(`${named.base}/api/training/jobs`, { headers: { host: 'proxy.example:80' } })).status).toBe(403);
      // Behind a TLS proxy the page's origin is https://proxy.example:8443, the Host it forwards the same.
      const proxied = await rawFetch(`${named.base}/api/training/cancel/j`, {
        method: 'POST',
        headers: { host: 'proxy.example:8443', origin: 'https://proxy.example:8443', 'sec-fetch-site': 'same-origin' },
      });
      expect(proxied.status).toBe(200);
    } finally {
      await named.app.close();
    }
  });
});

describe('bearer token', () => {
  const token = 'correct-horse-battery-staple';
  let s: Awaited<ReturnType<typeof listening>>;
  beforeAll(async () => {
    s = await listening(token);
  });
  afterAll(async () => {
    await s?.app.close();
  });

  it('guards streams by the route matched, so a percent-encoded path needs the token too', async () => {
    for (const path of ['/api/training/%73tream/job-1', '/api/models/deployments/d-1/%73tream', '/api/training/stream/job-1', '/api/training/%73%74%72%65%61%6d/job-1']) {
      const res = await rawFetch(`${s.base}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.json?.code, path).toBe('TRN_ERR_HTTP_UNAUTHORIZED');
    }
    expect((await rawFetch(`${s.base}/api/training/%73tream/job-1`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await rawFetch(`${s.base}/api/training/%73tream/job-1?token=${token}`)).status).toBe(200);
  });

  it('takes the token exactly: no trailing whitespace, no prefix, any length compared in constant time', async () => {
    const cancel = (headers: Record<string, string>, query = '') => rawFetch(`${s.base}/api/training/cancel/j${query}`, { method: 'POST', headers });
    expect((await cancel({ authorization: `Bearer ${token}` })).status).toBe(200);
    for (const authorization of [`Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, `Bearer ${token.slice(0, 4)}`, `Bearer  ${token}`, token, 'Bearer ']) {
      expect((await cancel({ authorization })).status, authorization).toBe(401);
    }
    // ?token= stays on GET stream routes (EventSource); trailing blanks there are not trimmed either.
    expect((await cancel({}, `?token=${token}`)).status).toBe(401);
    expect((await rawFetch(`${s.base}/api/training/stream/j?token=${token}%20`)).status).toBe(401);
    expect((await rawFetch(`${s.base}/api/training/stream/j?token=${token}%09`)).status).toBe(401);
    // Reads other than streams stay open; the scheme name is case-insensitive (RFC 7235).
    expect((await rawFetch(`${s.base}/api/training/jobs`)).status).toBe(200);
    expect((await cancel({ authorization: `bearer ${token}` })).status).toBe(200);
  });
});

describe("Fastify's own errors as catalogue codes", () => {
  let s: Awaited<ReturnType<typeof listening>>;
  beforeAll(async () => {
    s = await listening();
  });
  afterAll(async () => {
    await s?.app.close();
  });

  const post = (body: string | undefined, type: string | undefined) =>
    rawFetch(`${s.base}/api/echo`, { method: 'POST', headers: type === undefined ? {} : { 'content-type': type }, body });

  it.each([
    ['an empty JSON body', '', 'application/json', 400, 'TRN_ERR_HTTP_INVALID_JSON', /empty/],
    ['invalid JSON', '{"a": ', 'application/json', 400, 'TRN_ERR_HTTP_INVALID_JSON', /does not parse/],
    ['an unsupported media type', 'a=1', 'application/x-www-form-urlencoded', 415, 'TRN_ERR_HTTP_UNSUPPORTED_MEDIA', /x-www-form-urlencoded/],
    ['text/plain (what a cross-site form sends)', 'hello', 'text/plain', 415, 'TRN_ERR_HTTP_UNSUPPORTED_MEDIA', /text\/plain/],
    ['a body over the limit', JSON.stringify({ a: 'x'.repeat(2000) }), 'application/json', 413, 'TRN_ERR_HTTP_BODY_TOO_LARGE', /1024 bytes/],
    ['a UTF-16 charset', '{}', 'application/json; charset=utf-16', 415, 'TRN_ERR_HTTP_UNSUPPORTED_MEDIA', /charset utf-16/],
    ['a Latin-1 charset', '{}', 'application/json; charset="ISO-8859-1"', 415, 'TRN_ERR_HTTP_UNSUPPORTED_MEDIA', /charset ISO-8859-1/],
  ])('maps %s to its catalogue code', async (_name, body, type, status, code, details) => {
    const res = await post(body, type);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ code, error: expect.any(String) });
    expect(`${String(res.json?.error)} ${String(res.json?.details)}`).toMatch(details);
  });

  it('parses UTF-8 bodies however the charset is spelt, and a bodyless POST', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF8', 'application/json;charset="utf-8"']) {
      const res = await post('{"text":"caf\u00e9 \u263a"}', type);
      expect(res.status, type).toBe(200);
      expect(res.json, type).toEqual({ body: { text: 'caf\u00e9 \u263a' } });
    }
    expect((await post(undefined, undefined)).status).toBe(200);
  });
});

describe('streaming JSON bodies (useStreamingJson)', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = createApp({ logger: pino({ level: 'silent' }), bodyLimitBytes: 1024 });
    app.register(async (scope) => {
      useStreamingJson(scope);
      scope.post('/api/batch', async (req) => ({ body: req.body as unknown, protoKey: Object.hasOwn(req.body as object, '__proto__') }));
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
  });
  const post = (body: string | undefined, type = 'application/json') => rawFetch(`${base}/api/batch`, { method: 'POST', headers: { 'content-type': type }, body });

  it('reads what JSON.parse reads, a __proto__ key staying an own property', async () => {
    const res = await post(' {"a": [1, 2.5, "x\\u00e9", null, true], "__proto__": {"polluted": 1}} \n');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ body: { a: [1, 2.5, 'x\u00e9', null, true], ['__proto__']: { polluted: 1 } }, protoKey: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['an empty body', '', 400, 'TRN_ERR_HTTP_INVALID_JSON', /empty/],
    ['invalid JSON', '{"a": tru}', 400, 'TRN_ERR_HTTP_INVALID_JSON', /Unexpected/],
    ['a cut-off body', '{"a": [1, 2', 400, 'TRN_ERR_HTTP_INVALID_JSON', /ended|ends/],
    ['text after the value', '{"a": 1} {"b": 2}', 400, 'TRN_ERR_HTTP_INVALID_JSON', /Unexpected|more after the JSON value/],
    ['a body over the limit', JSON.stringify({ a: 'x'.repeat(2000) }), 413, 'TRN_ERR_HTTP_BODY_TOO_LARGE', /1024 bytes/],
  ])('refuses %s with its catalogue code', async (_name, body, status, code, message) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.json?.code).toBe(code);
    expect(`${String(res.json?.error)} ${String(res.json?.details)}`).toMatch(message);
  });
});
