import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ReactorLink, isOutage } from '../../src/coordinator/index.js';
import { FakeReactor } from '../jarvis/fakes.js';
import { startCoordinator, type Harness } from './harness.js';

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

describe('AutoTrigger', () => {
  const open: Array<Harness | FakeReactor> = [];
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });

  it('queues one job per model type with enough new experiences, never a second while one is pending', async () => {
    const reactor = await new FakeReactor({ jobMs: 50 }).start();
    open.push(reactor);
    reactor.stats = { nlu: 120, vision: 99, voice: 100 };
    const h = startCoordinator({ REACTOR_CORE_API_URL: reactor.url, MIN_EXPERIENCES_FOR_TRAINING: '100' }, { start: false });
    open.push(h);
    const first = await h.parts.auto.check();
    expect(first).toMatchObject({ error: null, counts: { nlu: 120, vision: 99, voice: 100, embedding: 0 } });
    const queued = await h.parts.queue.view();
    expect(queued.map((j) => [j.model_type, j.source, j.priority])).toEqual([
      ['voice', 'auto', 'CRITICAL'],
      ['nlu', 'auto', 'HIGH'],
    ]);
    expect((await h.parts.auto.check()).triggered).toEqual([]);
    expect(await h.parts.queue.length()).toBe(2);
  });

  it('does not queue a type again after its automatic job failed until more experiences arrived', async () => {
    const reactor = await new FakeReactor({ jobMs: 20, fails: () => true }).start();
    open.push(reactor);
    reactor.stats = { nlu: 150 };
    const h = startCoordinator({ REACTOR_CORE_API_URL: reactor.url, MIN_EXPERIENCES_FOR_TRAINING: '100' });
    open.push(h);
    const [id] = (await h.parts.auto.check()).triggered;
    expect((await h.finished(id)).status).toBe('failed');
    expect((await h.parts.auto.check()).triggered).toEqual([]);
    reactor.stats = { nlu: 151 };
    expect((await h.parts.auto.check()).triggered).toHaveLength(1);
  });

  it('holds a TRAINING_CHECK_INTERVAL longer than a Node timer can as "rarely", not as every millisecond', async () => {
    const reactor = await new FakeReactor().start();
    open.push(reactor);
    const h = startCoordinator({ REACTOR_CORE_API_URL: reactor.url, TRAINING_CHECK_INTERVAL: '10000000' }, { start: false });
    open.push(h);
    h.parts.auto.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(h.parts.auto.lastCheck()).toBeNull();
  });

  it('reports an unreachable reactor instead of throwing', async () => {
    const h = startCoordinator({ REACTOR_CORE_API_URL: `http://127.0.0.1:${await deadPort()}` }, { start: false });
    open.push(h);
    expect(await h.parts.auto.check()).toMatchObject({ triggered: [], error: expect.stringMatching(/ECONNREFUSED|circuit breaker open/) });
  });
});

describe('ReactorLink', () => {
  it('opens its breaker after consecutive outages, fails fast while open, and closes after a good probe', async () => {
    const port = await deadPort();
    const link = new ReactorLink({ name: 'local', baseUrl: `http://127.0.0.1:${port}`, retries: 1, retryDelayMs: 5, breakerThreshold: 3, halfOpenAfterMs: 200, requestTimeoutMs: 1_000 });
    await expect(link.health()).rejects.toThrow(/ECONNREFUSED/);
    expect(link.breakerState()).toBe('closed');
    await expect(link.health()).rejects.toSatisfy(isOutage);
    expect(link.breakerState()).toBe('open');
    expect(link.lastFailure()).toMatch(/ECONNREFUSED/);
    const t0 = Date.now();
    await expect(link.health()).rejects.toThrow(/open/i);
    expect(Date.now() - t0).toBeLessThan(50);

    const reactor = new FakeReactor();
    await reactor.app.listen({ host: '127.0.0.1', port });
    try {
      await new Promise((r) => setTimeout(r, 250));
      expect((await link.health()).status).toBe('healthy');
      expect(link.breakerState()).toBe('closed');
      expect(link.lastFailure()).toBeNull();
      // A 4xx is an answer: not retried, and the breaker stays closed.
      for (let i = 0; i < 4; i++) await expect(link.status('missing')).rejects.toMatchObject({ status: 404 });
      expect(link.breakerState()).toBe('closed');
    } finally {
      await reactor.close();
    }
  });
});
