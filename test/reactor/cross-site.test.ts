/**
 * A real reactor against the two kinds of caller it meets on a desktop: JARVIS's Python client (aiohttp:
 * Host 127.0.0.1:port, no Origin, no Sec-Fetch-*), which must keep working, and a web page in the user's
 * browser or a DNS-rebinding page, which must not be able to cancel or promote anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { rawFetch, rawRequest } from '../helpers/raw-http.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

const slice = snipsExperiences(readSnips('train').filter((_, i) => i % 8 === 0));

/** The headers aiohttp 3.x sends by default (ClientSession without extra headers). */
function aiohttpHeaders(port: number, extra: Record<string, string> = {}): Record<string, string> {
  return { host: `127.0.0.1:${port}`, accept: '*/*', 'accept-encoding': 'gzip, deflate', 'user-agent': 'Python/3.11 aiohttp/3.9.5', ...extra };
}

describe('reactor and its callers', () => {
  let reactor: ServiceProcess;
  beforeAll(async () => {
    reactor = await startService('reactor', tempHome());
  });
  afterAll(async () => {
    await reactor?.kill('SIGTERM');
  });

  it("serves JARVIS's aiohttp client: it starts a job, follows its stream and cancels it with a bodyless POST", async () => {
    const body = JSON.stringify({ job_id: 'py-client', model_type: 'nlu', experiences: slice, epochs: 400 });
    const start = await rawFetch(`${reactor.url}/api/training/start`, {
      method: 'POST',
      headers: aiohttpHeaders(reactor.port, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
      body,
    });
    expect(start.status, start.text).toBe(200);
    expect(start.json).toMatchObject({ job_id: 'py-client' });

    // `async for line in response.content: json.loads(line)`: NDJSON, since aiohttp asks for */*.
    const stream = await rawRequest(`${reactor.url}/api/training/stream/py-client`, { headers: aiohttpHeaders(reactor.port) });
    expect(stream.statusCode).toBe(200);
    const events: { event: string; epoch?: number }[] = [];
    let cancelled: Promise<Awaited<ReturnType<typeof rawFetch>>> | null = null;
    let buffered = '';
    for await (const chunk of stream) {
      buffered += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const e = JSON.parse(line) as { event: string; epoch?: number };
        events.push(e);
        if (e.event === 'status' && (e.epoch ?? 0) >= 2 && cancelled === null) {
          cancelled = rawFetch(`${reactor.url}/api/training/cancel/py-client`, { method: 'POST', headers: aiohttpHeaders(reactor.port, { 'content-length': '0' }) });
        }
      }
    }
    expect(cancelled).not.toBeNull();
    const cancel = await cancelled!;
    expect(cancel.status, cancel.text).toBe(200);
    expect(events.filter((e) => e.event === 'status').length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)!.event).toBe('cancelled');
    const status = await rawFetch(`${reactor.url}/api/training/status/py-client`, { headers: aiohttpHeaders(reactor.port) });
    expect(status.json).toMatchObject({ status: 'cancelled' });
  }, 120_000);

  it('lets no page elsewhere cancel a running job or promote a deployment, and answers no rebinding name', async () => {
    const start = await rawFetch(`${reactor.url}/api/training/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ job_id: 'victim', model_type: 'nlu', experiences: slice, epochs: 400 }),
    });
    expect(start.status).toBe(200);
    await waitFor(async () => (await getJson<{ epoch: number }>(`${reactor.url}/api/training/status/victim`)).body.epoch >= 1, 60_000, 'first epoch');

    // What a page at http://evil.example sends with fetch(…, {method: 'POST', mode: 'no-cors'}) or a form.
    const browser = { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' };
    for (const headers of [{ ...browser, 'content-type': 'text/plain' }, browser] as Record<string, string>[]) {
      const cancel = await rawFetch(`${reactor.url}/api/training/cancel/victim`, { method: 'POST', headers, body: headers['content-type'] ? '{}' : undefined });
      expect(cancel.status).toBe(403);
      expect(cancel.json).toMatchObject({ code: 'TRN_ERR_HTTP_FORBIDDEN_ORIGIN' });
      const promote = await rawFetch(`${reactor.url}/api/models/deployments/any-deployment/promote`, { method: 'POST', headers });
      expect(promote.status).toBe(403);
      expect(promote.json).toMatchObject({ code: 'TRN_ERR_HTTP_FORBIDDEN_ORIGIN' });
    }
    // DNS rebinding: evil.example now resolves to 127.0.0.1, so the page is "same-origin" with itself.
    const rebound = { host: `evil.example:${reactor.port}`, origin: `http://evil.example:${reactor.port}`, 'sec-fetch-site': 'same-origin' };
    expect((await rawFetch(`${reactor.url}/api/training/cancel/victim`, { method: 'POST', headers: rebound })).json).toMatchObject({ code: 'TRN_ERR_HTTP_FORBIDDEN_HOST' });
    const read = await rawFetch(`${reactor.url}/api/training/jobs`, { headers: rebound });
    expect(read.status).toBe(403);
    expect(read.text).not.toContain('victim');

    const status = await getJson<{ status: string }>(`${reactor.url}/api/training/status/victim`);
    expect(status.body.status).toBe('training');
    expect((await rawFetch(`${reactor.url}/api/training/cancel/victim`, { method: 'POST' })).status).toBe(200);
  }, 120_000);
});
