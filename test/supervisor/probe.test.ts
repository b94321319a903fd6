import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeProbe, pidListeningOn, probeHealth } from '../../src/supervisor/index.js';
import { waitHealthy } from '../../src/supervisor/wait-healthy.js';

type Handler = (path: string) => { status: number; body: string };

const servers: Array<{ close(cb: () => void): void }> = [];

async function serve(handler: Handler): Promise<string> {
  const server: Server = createServer((req, res) => {
    const r = handler(req.url ?? '/');
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

describe('probeHealth', () => {
  it('reads healthy, degraded with its problems, and 503 starting as CONTRACT §3 defines them', async () => {
    let body: Record<string, unknown> = { status: 'starting', service: 'reactor-core' };
    const url = await serve(() => ({ status: body.status === 'starting' ? 503 : 200, body: JSON.stringify(body) }));
    expect(await probeHealth(url, ['/api/health'])).toMatchObject({ state: 'starting', httpStatus: 503, service: 'reactor-core' });
    body = { status: 'degraded', problems: ['reactor unreachable'] };
    const degraded = await probeHealth(url, ['/api/health']);
    expect(degraded).toMatchObject({ state: 'degraded', problems: ['reactor unreachable'] });
    expect(describeProbe(degraded)).toBe(`GET ${url}/api/health → 200 degraded (reactor unreachable)`);
    body = { status: 'healthy' };
    expect((await probeHealth(url, ['/api/health'])).state).toBe('healthy');
  });

  it('falls back to / when an external server has no /health (Ollama), and takes any 200 as healthy', async () => {
    const url = await serve((path) => (path === '/' ? { status: 200, body: 'Ollama is running' } : { status: 404, body: '{}' }));
    const r = await probeHealth(url, ['/health', '/']);
    expect(r).toMatchObject({ state: 'healthy', url: `${url}/`, body: null });
  });

  it('reports a refused connection and a port that never answers HTTP, without hanging', async () => {
    // Reads (so it sees the probe hang up) but never answers, like a non-HTTP service on the port.
    const tcp = createTcpServer((c) => c.resume());
    servers.push(tcp);
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const port = (tcp.address() as { port: number }).port;
    const silent = await probeHealth(`http://127.0.0.1:${port}`, ['/health'], { timeoutMs: 300 });
    expect(silent).toMatchObject({ state: 'down', httpStatus: null, error: 'no answer within 300 ms' });
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    servers.pop();
    const refused = await probeHealth(`http://127.0.0.1:${port}`, ['/health']);
    expect(refused).toMatchObject({ state: 'down', error: 'ECONNREFUSED' });
    expect(describeProbe(refused)).toBe(`GET http://127.0.0.1:${port}/health → ECONNREFUSED`);
  });
});

describe('pidListeningOn', () => {
  it('finds the process behind a listening port through /proc', async () => {
    const url = await serve(() => ({ status: 200, body: '{}' }));
    expect(pidListeningOn(Number(new URL(url).port))).toBe(process.pid);
  });
});

describe('waitHealthy', () => {
  it('accepts a degraded answer only after it lasted the grace period', async () => {
    const url = await serve(() => ({ status: 200, body: JSON.stringify({ status: 'degraded', problems: ['x'] }) }));
    const started = Date.now();
    const outcome = await waitHealthy({ probe: () => probeHealth(url, ['/health']), timeoutMs: 5_000, startPeriodMs: 0, degradedGraceMs: 400 });
    expect(outcome).toMatchObject({ ok: true, state: 'degraded' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('times out while the service keeps answering starting, and reports the last probe', async () => {
    const url = await serve(() => ({ status: 503, body: JSON.stringify({ status: 'starting' }) }));
    const waiting: number[] = [];
    const outcome = await waitHealthy({
      probe: () => probeHealth(url, ['/health']),
      timeoutMs: 600,
      startPeriodMs: 200,
      degradedGraceMs: 0,
      onStillWaiting: (_last, ms) => waiting.push(ms),
    });
    expect(outcome).toMatchObject({ ok: false, reason: 'timeout', last: { state: 'starting' } });
    expect(waiting.length).toBe(1);
  });

  it('ends at once when the launched child exits', async () => {
    const exited = new Promise<{ pid: number; code: number; signal: null }>((resolve) => setTimeout(() => resolve({ pid: 1, code: 1, signal: null }), 50));
    const outcome = await waitHealthy({ probe: () => new Promise(() => undefined), timeoutMs: 10_000, startPeriodMs: 0, degradedGraceMs: 0, exited });
    expect(outcome).toMatchObject({ ok: false, reason: 'exited', exit: { code: 1 } });
  });
});
