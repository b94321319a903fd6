import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/create-app.js';
import { primeModelsRoutes } from '../../src/http/routes/prime-models.js';
import { primePredictRoutes } from '../../src/http/routes/prime-predict.js';
import { InflightCounter, ModelServer } from '../../src/serving/index.js';
import { createNluVersions, type NluVersions } from '../serving/helpers.js';

let nlu: NluVersions;
let v1: string;
let v2: string;

beforeAll(async () => {
  nlu = await createNluVersions(2);
  [v1, v2] = nlu.versions;
});
afterAll(() => nlu?.cleanup());

interface Harness {
  app: FastifyInstance;
  server: ModelServer;
  inflight: InflightCounter;
  close(): Promise<void>;
}

async function harness(apiToken?: string, starting = false): Promise<Harness> {
  const server = new ModelServer({ modelsDir: nlu.modelsDir, starting });
  const inflight = new InflightCounter();
  const app = createApp({ logger: pino({ level: 'silent' }), bodyLimitBytes: 1 << 20, apiToken });
  app.register(primePredictRoutes, { server, inflight });
  app.register(primeModelsRoutes, { server });
  await app.ready();
  return { app, server, inflight, close: async () => (await app.close(), await server.close()) };
}

type Json = Record<string, unknown>;
const post = (app: FastifyInstance, url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as Json });

describe('prime HTTP routes', () => {
  it('keeps every one of 100 sessions on one version over 1,000 predictions at 25 %, within ±5 points of the split', async () => {
    const h = await harness();
    const split = await post(h.app, '/api/v1/models/split', { model_type: 'nlu', stable: v1, canary: v2, canary_percentage: 25, deployment_id: 'dep-7' });
    expect(split.statusCode).toBe(200);
    expect(split.json()).toMatchObject({ model_type: 'nlu', stable: v1, canary: v2, canary_percentage: 25, deployment_id: 'dep-7', applied_at: expect.any(String) });

    const bySession = new Map<string, Set<string>>();
    let canary = 0;
    for (let i = 0; i < 1000; i++) {
      const session = `user-${i % 100}`;
      const res = await post(h.app, '/api/predict/nlu', { input: { text: 'add this song to my workout playlist' }, session_id: session });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ prediction_id: string; model_version: string; intent: string; top_k: unknown[] }>();
      expect(res.headers['x-model-version']).toBe(body.model_version);
      expect(body.intent).toEqual(expect.any(String));
      expect(body.top_k.length).toBeGreaterThan(0);
      if (body.model_version === v2) canary++;
      if (!bySession.has(session)) bySession.set(session, new Set());
      bySession.get(session)!.add(body.model_version);
    }
    for (const versions of bySession.values()) expect(versions.size).toBe(1);
    expect(Math.abs(canary / 10 - 25)).toBeLessThanOrEqual(5);
    await h.close();
  });

  it('attributes feedback to the serving version and reports the protocol counters', async () => {
    const h = await harness();
    await post(h.app, '/api/v1/models/reload', { model_type: 'nlu', model_version: v2 });
    const p = (await post(h.app, '/api/predict/nlu', { input: { text: 'rate this book five stars' } })).json<{ prediction_id: string }>();
    const f = await post(h.app, '/api/feedback', { prediction_id: p.prediction_id, success: false });
    expect(f.statusCode).toBe(200);
    expect(f.json()).toEqual({ prediction_id: p.prediction_id, model_type: 'nlu', model_version: v2, success: false, duplicate: false });
    expect((await post(h.app, '/api/feedback', { prediction_id: p.prediction_id, success: true })).statusCode).toBe(409);
    expect((await post(h.app, '/api/feedback', { prediction_id: 'nope', success: true })).statusCode).toBe(404);
    expect((await post(h.app, '/api/feedback', { prediction_id: p.prediction_id })).statusCode).toBe(400);

    const bad = await post(h.app, '/api/predict/nlu', { input: { text: '' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['x-model-version']).toBe(v2);
    expect(bad.json()).toMatchObject({ code: 'TRN_ERR_SERVING_INVALID_INPUT', model_version: v2, error: expect.stringContaining('input.text') });

    const stats = (await h.app.inject({ method: 'GET', url: '/api/v1/models/stats' })).json<{ instance_id: string; started_at: string; models: Json }>();
    expect(stats).toMatchObject({ instance_id: h.server.instanceId, started_at: expect.any(String) });
    expect(stats.models).toEqual({ nlu: { [v2]: { requests: 2, errors: 1, feedback_success: 0, feedback_failure: 1 } } });
    await h.close();
  });

  it('answers bad bodies with 400 naming the field, unknown types with 404 and undeployed types with 503', async () => {
    const h = await harness();
    const noInput = await post(h.app, '/api/predict/nlu', { text: 'hi' });
    expect(noInput.statusCode).toBe(400);
    expect(noInput.json<{ details: string }>().details).toMatch(/input/);
    expect((await post(h.app, '/api/predict/nlu', { input: 'hi' })).statusCode).toBe(400);
    expect((await post(h.app, '/api/predict/speech', { input: { text: 'hi' } })).statusCode).toBe(404);
    const none = await post(h.app, '/api/predict/voice', { input: { audio_embedding: [1] } });
    expect(none.statusCode).toBe(503);
    expect(none.json()).toMatchObject({ code: 'TRN_ERR_SERVING_NO_MODEL', error: expect.stringMatching(/deploy/) });
    // Nothing deployed is not transient: no Retry-After that would have a client wait in vain.
    expect(none.headers['retry-after']).toBeUndefined();

    const badSplit = await post(h.app, '/api/v1/models/split', { model_type: 'nlu', stable: v1, canary: v2, canary_percentage: 120 });
    expect(badSplit.statusCode).toBe(400);
    expect(badSplit.json<{ details: string }>().details).toMatch(/canary_percentage/);
    const badVersion = await post(h.app, '/api/v1/models/split', { model_type: 'nlu', stable: 'latest' });
    expect(badVersion.json()).toMatchObject({ code: 'TRN_ERR_SERVING_INVALID_SPLIT', error: expect.stringMatching(/^stable must be a version/) });
    expect((await post(h.app, '/api/v1/models/reload', { model_type: 'music', model_version: v1 })).statusCode).toBe(400);
    const missing = await post(h.app, '/api/v1/models/reload', { model_type: 'nlu', model_version: 'v7.0.0' });
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ code: 'TRN_ERR_SERVING_LOAD_FAILED', version: 'v7.0.0' });
    const listing = (await h.app.inject({ method: 'GET', url: '/api/v1/models' })).json<{ load_failures: Json[] }>();
    expect(listing.load_failures).toEqual([expect.objectContaining({ model_type: 'nlu', version: 'v7.0.0' })]);
    await h.close();
  });

  it('needs the bearer token for predictions, feedback and swaps when one is configured', async () => {
    const h = await harness('s3cret');
    expect((await post(h.app, '/api/v1/models/reload', { model_type: 'nlu', model_version: v1 })).statusCode).toBe(401);
    const ok = await h.app.inject({ method: 'POST', url: '/api/v1/models/reload', payload: { model_type: 'nlu', model_version: v1 }, headers: { authorization: 'Bearer s3cret' } });
    expect(ok.statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/models/stats' })).statusCode).toBe(200);
    await h.close();
  });

  it('loses no request and returns no error while versions are hot-swapped under steady load', async () => {
    const h = await harness();
    await post(h.app, '/api/v1/models/reload', { model_type: 'nlu', model_version: v1 });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = h.app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}/api/predict/nlu`;
    const statuses = new Map<number, number>();
    const versions = new Set<string>();
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input: { text: 'find me a movie schedule for tonight' }, session_id: `w${w}-${i % 10}` }),
        });
        const body = (await res.json()) as { model_version?: string };
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (body.model_version) versions.add(body.model_version);
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    const splits = [
      { model_type: 'nlu', stable: v1, canary: v2, canary_percentage: 10 },
      { model_type: 'nlu', stable: v1, canary: v2, canary_percentage: 50 },
      { model_type: 'nlu', stable: v2, canary: null, canary_percentage: 0 },
      { model_type: 'nlu', stable: v2, canary: v1, canary_percentage: 25 },
      { model_type: 'nlu', stable: v1, canary: null, canary_percentage: 0 },
      { model_type: 'nlu', stable: v2, canary: null, canary_percentage: 0 },
    ];
    for (const s of splits) {
      await new Promise((r) => setTimeout(r, 150));
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/models/split`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(s) });
      expect(res.status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await Promise.all(workers);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(Object.fromEntries(statuses)).toEqual({ 200: total });
    expect(total).toBeGreaterThan(100);
    expect(versions).toEqual(new Set([v1, v2]));
    const counted = Object.values(h.server.stats().models.nlu).reduce((s, c) => s + c.requests, 0);
    expect(counted).toBe(total);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.inflight.active).toBe(0);
    await h.close();
  });
  it('answers 503 with Retry-After while prime has not applied its first split, then the clear "nothing deployed"', async () => {
    const h = await harness(undefined, true);
    const starting = await post(h.app, '/api/predict/nlu', { input: { text: 'play some jazz' } });
    expect(starting.statusCode).toBe(503);
    expect(starting.headers['retry-after']).toBe('1');
    expect(starting.json()).toMatchObject({ code: 'TRN_ERR_HTTP_NOT_READY', error: 'service is starting; retry shortly', retry_after_seconds: 1 });
    expect((await post(h.app, '/api/predict/speech', { input: { text: 'hi' } })).statusCode).toBe(404);
    h.server.started();
    const none = await post(h.app, '/api/predict/nlu', { input: { text: 'play some jazz' } });
    expect(none.json()).toMatchObject({ code: 'TRN_ERR_SERVING_NO_MODEL' });
    expect(none.headers['retry-after']).toBeUndefined();
    await h.server.applySplit({ modelType: 'nlu', stable: v1, canary: null, canaryPercentage: 0 });
    expect((await post(h.app, '/api/predict/nlu', { input: { text: 'play some jazz' } })).statusCode).toBe(200);
    await h.close();
  });
});
