import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectExperiences } from '../../src/coordinator/collect.js';
import { installErrorHandling } from '../../src/http/error-handler.js';
import { experienceRoutes } from '../../src/http/routes/experiences.js';
import type { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { memoryStore, nlu } from './helpers.js';

let app: FastifyInstance;
let store: ExperienceStore;

beforeEach(async () => {
  ({ store } = memoryStore());
  app = Fastify();
  installErrorHandling(app);
  await app.register(experienceRoutes, { store });
  await app.ready();
});

afterEach(async () => {
  await app.close();
});

const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/experiences', payload: payload as object });

describe('POST /api/experiences', () => {
  it('accepts {experiences: [...]} and counts accepted, duplicates and rejected items', async () => {
    const res = await post({ experiences: [nlu('a', 'A'), 'junk', nlu('b', 'B'), { type: 'command', input: { text: 'c' }, success: false }] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      accepted: 3,
      duplicates: 0,
      unusable: 1,
      rejected: [{ index: 1, error: 'an experience must be a JSON object, got "junk"' }],
    });
    const again = await post({ experiences: [nlu('a', 'A'), nlu('z', 'Z')] });
    expect(again.json()).toMatchObject({ accepted: 1, duplicates: 1, rejected: [] });
  });

  it('accepts one experience object, a bare array and the forwarder envelope', async () => {
    expect((await post(nlu('one', 'O'))).json()).toMatchObject({ accepted: 1 });
    expect((await post([nlu('two', 'T'), nlu('three', 'T')])).json()).toMatchObject({ accepted: 2 });
    const env = { event_type: 'learning_signal', event_id: 'e1', payload: { experiences: [nlu('four', 'F')] } };
    expect((await post(env)).json()).toMatchObject({ accepted: 1 });
    expect((await store.stats()).types.nlu.total).toBe(4);
  });

  it('answers 400 with a catalogue error for a body that is not an object or array', async () => {
    for (const payload of ['"just a string"', '42', 'null']) {
      const res = await app.inject({ method: 'POST', url: '/api/experiences', payload, headers: { 'content-type': 'application/json' } });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'TRN_ERR_EXPERIENCE_INVALID', error: 'invalid experiences body: must be a JSON object or array', details: expect.any(String) });
    }
  });

  it('answers 400 naming the field for an object that is no experience, batch or envelope', async () => {
    const res = await post({ experiences: 'nope' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'TRN_ERR_EXPERIENCE_INVALID', error: 'invalid experiences body: wrong shape', details: 'experiences must be an array, got "nope"' });
    expect((await post({ hello: 1 })).statusCode).toBe(400);
  });

  it('answers 400, not 500, for malformed JSON', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/experiences', payload: '{"experiences": [', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toHaveProperty('error');
  });

  it('keeps types named after Object members and refuses only a too-deep item, never answering 500 (issue 14)', async () => {
    const types = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];
    const deep = `{"type":"command","input":{"text":"deep","extra":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`;
    const payload = `[${[...types.map((type) => JSON.stringify({ type, input: { text: type } })), deep, JSON.stringify(nlu('fine', 'F'))].join(',')}]`;
    const res = await app.inject({ method: 'POST', url: '/api/experiences', payload, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ accepted: 6, duplicates: 0, unusable: 5, rejected: [{ index: 5, error: 'an experience may nest objects and arrays at most 64 levels deep' }] });
    // JARVIS reads its bodies with the same parser and normaliser; it refuses what has no model type.
    const jarvis = await collectExperiences(JSON.parse(payload));
    expect(jarvis.items).toHaveLength(1);
    expect(jarvis.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(jarvis.rejected[4].error).toMatch(/^type "__proto__" maps to no model type/);
  });

  it('accepts an empty list as nothing to do', async () => {
    expect((await post({ experiences: [] })).json()).toEqual({ accepted: 0, duplicates: 0, unusable: 0, rejected: [] });
  });
});

describe('GET /api/experiences/stats', () => {
  it('reports every model type plus totals', async () => {
    await post({ experiences: [nlu('a', 'A'), { type: 'command', input: { text: 'b' }, success: false }, { type: 'unknown' }] });
    const res = await app.inject({ method: 'GET', url: '/api/experiences/stats' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['embedding', 'nlu', 'totals', 'vision', 'voice']);
    expect(body.nlu).toMatchObject({ total: 2, usable: 1, unusable: 1, negative_feedback: 1, new_since_last_training: 1, last_trained_at: null });
    expect(body.totals).toMatchObject({ total: 3, usable: 1, unusable: 2, untyped: 1 });
  });
});
