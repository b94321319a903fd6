import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../../src/http/error-handler.js';
import { modelsRoutes } from '../../src/http/routes/models.js';
import { ModelsStore } from '../../src/registry/models-store.js';
import { createFixture, type Fixture } from './helpers.js';

let f: Fixture;
let app: FastifyInstance;
beforeEach(async () => {
  f = createFixture();
  app = Fastify();
  installErrorHandling(app);
  await app.register(modelsRoutes, { registry: f.registry });
  await app.ready();
});
afterEach(async () => {
  await app.close();
  f.close();
});

const VERSION_KEYS = ['created_at', 'digest', 'experience_counts', 'job_id', 'metrics', 'status', 'version'];

describe('modelsRoutes', () => {
  it('GET /api/models lists every type with stable, canary, percentage and versions newest first', async () => {
    await f.registry.register(f.input('job-1'));
    await f.registry.register(f.input('job-2'));
    await new ModelsStore(f.sql).setPointers({ modelType: 'nlu', stable: 'v1.0.0', canary: 'v1.0.1', canaryPercentage: 25 }, Date.now());

    const res = await app.inject({ method: 'GET', url: '/api/models' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body.models)).toEqual(['voice', 'nlu', 'vision', 'embedding']);
    expect(body.models.voice).toEqual({ stable: null, canary: null, canary_percentage: 0, versions: [] });
    const nlu = body.models.nlu;
    expect(nlu).toMatchObject({ stable: 'v1.0.0', canary: 'v1.0.1', canary_percentage: 25 });
    expect(nlu.versions.map((v: { version: string; status: string }) => [v.version, v.status])).toEqual([
      ['v1.0.1', 'canary'],
      ['v1.0.0', 'stable'],
    ]);
    expect(Object.keys(nlu.versions[0]).sort()).toEqual(VERSION_KEYS);
    expect(nlu.versions[1]).toEqual({
      version: 'v1.0.0',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      job_id: 'job-1',
      metrics: { loss: 0.25, accuracy: 0.9, val_loss: 0.3, val_accuracy: 0.88 },
      experience_counts: { train: 80, validation: 20, total: 100 },
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      status: 'stable',
    });
  });

  it('GET /api/models/:type answers one type, and an empty list for a known type without versions', async () => {
    await f.registry.register(f.input('job-1'));
    const res = await app.inject({ method: 'GET', url: '/api/models/nlu' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ model_type: 'nlu', stable: 'v1.0.0', canary: null, canary_percentage: 0 });
    expect(res.json().versions).toHaveLength(1);

    const empty = await app.inject({ method: 'GET', url: '/api/models/vision' });
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual({ model_type: 'vision', stable: null, canary: null, canary_percentage: 0, versions: [] });
  });

  it('GET /api/models/:type/:version answers the version with its files and manifest', async () => {
    await f.registry.register(f.input('job-1', { extra: { architecture: 'fasttext-64' } }));
    const res = await app.inject({ method: 'GET', url: '/api/models/nlu/v1.0.0' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ model_type: 'nlu', version: 'v1.0.0', job_id: 'job-1', status: 'stable' });
    expect(body.files.map((x: { path: string }) => x.path)).toEqual(['model.json', 'weights/w1.bin', 'weights/w2.bin']);
    expect(body.manifest).toMatchObject({ architecture: 'fasttext-64', digest: body.digest });
    expect(body).not.toHaveProperty('path');
  });

  it('rejects an unknown type with 400 TRN_ERR_MODEL_UNKNOWN_TYPE in the shared error shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/models/speech' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'unknown model_type "speech"; expected one of voice, nlu, vision, embedding',
      details: 'unknown model_type "speech"; expected one of voice, nlu, vision, embedding',
      code: 'TRN_ERR_MODEL_UNKNOWN_TYPE',
    });
  });

  it('rejects path traversal in type and version with 400', async () => {
    await f.registry.register(f.input('job-1'));
    const cases: [string, string][] = [
      ['/api/models/..%2Fx', 'TRN_ERR_MODEL_UNKNOWN_TYPE'],
      ['/api/models/..%2F..%2Fetc', 'TRN_ERR_MODEL_UNKNOWN_TYPE'],
      ['/api/models/%2e%2e%2fx', 'TRN_ERR_MODEL_UNKNOWN_TYPE'],
      ['/api/models/nlu/..%2Fx', 'TRN_ERR_MODEL_INVALID_VERSION'],
      ['/api/models/nlu/v1.0.0%2F..%2F..%2F', 'TRN_ERR_MODEL_INVALID_VERSION'],
      ['/api/models/nlu/..%2F', 'TRN_ERR_MODEL_INVALID_VERSION'],
      [`/api/models/nlu/${'v'.repeat(65)}`, 'TRN_ERR_HTTP_BAD_REQUEST'],
    ];
    for (const [url, code] of cases) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().code, url).toBe(code);
    }
  });

  it('never serves a version for dot segments the URL parser resolves away', async () => {
    await f.registry.register(f.input('job-1'));
    // Clients and light-my-request resolve `..` before routing; what is left must not be a version.
    for (const url of ['/api/models/../x', '/api/models/%2E%2E', '/api/models/nlu/v1.0.0/../../../etc/passwd']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code, url).toBe('TRN_ERR_HTTP_NOT_FOUND');
    }
  });

  it('answers 404 TRN_ERR_MODEL_NOT_FOUND for a well-formed version that is not registered', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/models/nlu/v3.0.0' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'TRN_ERR_MODEL_NOT_FOUND', error: 'no model nlu v3.0.0' });
  });
});
