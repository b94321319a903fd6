/**
 * Each model type's option bounds at POST /api/training/start and /estimate: a bad value of any bounded
 * option is a 400 naming the field and its range, before a job row or folder exists; the largest value
 * each bound allows still trains.
 */
import { existsSync, readdirSync } from 'node:fs';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/config.js';
import type { ModelType } from '../../src/model-types.js';
import { Reactor } from '../../src/reactor/reactor-service.js';
import { createLogger } from '../../src/util/logger.js';
import { tempHome, waitFor } from '../helpers/processes.js';

/** A small valid inline data set of each type: two classes (or pairs) that train in well under a second. */
const EXPERIENCES: Record<ModelType, unknown[]> = {
  nlu: Array.from({ length: 24 }, (_, i) =>
    i % 2 ? { type: 'command', input: { text: `play song number ${i}` }, expected_output: { intent: 'PlayMusic' } } : { type: 'command', input: { text: `weather in city ${i}` }, expected_output: { intent: 'GetWeather' } },
  ),
  voice: Array.from({ length: 24 }, (_, i) => ({
    type: 'voice_auth',
    input: { audio_embedding: Array.from({ length: 8 }, (_, d) => (i % 2 ? 1 : -1) * (d + 1) + (i % 5) * 0.1) },
    expected_output: { user: i % 2 ? 'alice' : 'bob' },
  })),
  vision: Array.from({ length: 24 }, (_, i) => ({
    type: 'vision',
    input: { pixels: Array.from({ length: 64 }, (_, p) => ((p % 8 < 4) === (i % 2 === 0) ? 200 : 10) + (i % 3)), width: 8, height: 8 },
    expected_output: { label: i % 2 ? 'right' : 'left' },
  })),
  embedding: Array.from({ length: 24 }, (_, i) => ({ type: 'pair', input: { text: `how do I reset my password ${i}`, positive: `password reset steps ${i}` } })),
};

/** The bounds the docs promise (docs/reactor-api.md); the tests hold the code to them. */
const BATCH: Record<ModelType, [number, number]> = { nlu: [1, 4096], voice: [1, 4096], vision: [1, 1024], embedding: [2, 4096] };
const ARCHITECTURES: Record<ModelType, string> = { nlu: 'fasttext-hidden', voice: 'linear', vision: 'cnn@16x12', embedding: 'ngram-bag-projection' };

type Bad = [field: string, body: Record<string, unknown>, allowed: RegExp | string];

/** The value at a dotted path such as `config.batch_size`. */
const valueAt = (body: Record<string, unknown>, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], body);

function badOptions(type: ModelType): Bad[] {
  const [min, max] = BATCH[type];
  return [
    ['epochs', { epochs: 0 }, 'an integer 1-10000'],
    ['epochs', { epochs: 10_001 }, 'an integer 1-10000'],
    ['epochs', { epochs: 2.5 }, 'an integer 1-10000'],
    ['epochs', { epochs: 'ten' }, 'an integer 1-10000'],
    ['config.batch_size', { config: { batch_size: 65_536 } }, new RegExp(`^an integer ${min}-${max}`)],
    ['config.batch_size', { config: { batch_size: max + 1 } }, new RegExp(`^an integer ${min}-${max}`)],
    ['config.batch_size', { config: { batch_size: min - 1 } }, new RegExp(`^an integer ${min}-${max}`)],
    ['config.batch_size', { config: { batch_size: 16.5 } }, new RegExp(`^an integer ${min}-${max}`)],
    ['config.batch_size', { config: { batch_size: '64' } }, new RegExp(`^an integer ${min}-${max}`)],
    ['config.learning_rate', { config: { learning_rate: 0 } }, 'a number in (0, 1]'],
    ['config.learning_rate', { config: { learning_rate: 1.5 } }, 'a number in (0, 1]'],
    ['config.learning_rate', { config: { learning_rate: -0.01 } }, 'a number in (0, 1]'],
    ['config.model_architecture', { config: { model_architecture: 'transformer' } }, /^\S/],
    ['config.model_architecture', { config: { model_architecture: '' } }, /^\S/],
    ['config.seed', { config: { seed: -1 } }, 'an integer 0-4294967295'],
    ['config', { config: [64] }, /^an object with any of learning_rate, batch_size, model_architecture, seed$/],
    ...(type === 'vision' ? ([['config.model_architecture', { config: { model_architecture: 'cnn@36x36' } }, /multiples of 4 in 8-32/]] as Bad[]) : []),
  ];
}

describe('training options at POST /api/training/start and /estimate', () => {
  let reactor: Reactor;
  let config: Config;
  let n = 0;
  const post = (url: string, payload: unknown) =>
    reactor.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) } satisfies InjectOptions);
  const status = async (jobId: string) => (await reactor.app.inject({ method: 'GET', url: `/api/training/status/${jobId}` })).json<{ status: string; error: string | null }>();

  beforeAll(async () => {
    config = parseConfig({ JARVIS_HOME: tempHome('trinity-options-'), REACTOR_CORE_PORT: '0', MAX_CONCURRENT_TRAINING_JOBS: '1', MAX_QUEUED_TRAINING_JOBS: '8' });
    reactor = new Reactor({ config, logger: createLogger({ service: 'reactor', level: 'silent' }) });
    await reactor.start();
  });
  afterAll(async () => {
    await reactor?.close();
  });

  describe.each(['nlu', 'voice', 'vision', 'embedding'] as ModelType[])('%s', (type) => {
    it.each(badOptions(type))('refuses %s in %j with a 400 naming it and its range, creating nothing', async (field, options, allowed) => {
      const jobId = `bad-${type}-${++n}`;
      const body = { job_id: jobId, model_type: type, experiences: EXPERIENCES[type], ...options };
      for (const url of ['/api/training/estimate', '/api/training/start']) {
        const res = await post(url, body);
        expect(res.statusCode, url).toBe(400);
        const answer = res.json<{ code: string; error: string; details: string; field: string; allowed: string; model_type: string }>();
        expect(answer).toMatchObject({ code: 'TRN_ERR_TRAINING_INVALID_OPTION', field, model_type: type });
        expect(answer.allowed).toMatch(allowed);
        expect(answer.error).toBe(`${field} must be ${answer.allowed} for model_type ${type}, got ${JSON.stringify(valueAt(options, field))}`);
      }
      expect((await reactor.app.inject({ method: 'GET', url: `/api/training/status/${jobId}` })).statusCode).toBe(404);
      expect(existsSync(`${config.paths.checkpoints}/${jobId}`)).toBe(false);
    });

    it('refuses batch_size 65536 with the message the issue asked for', async () => {
      const res = await post('/api/training/start', { model_type: type, experiences: EXPERIENCES[type], config: { batch_size: 65_536 } });
      expect(res.statusCode).toBe(400);
      const [min, max] = BATCH[type];
      expect(res.json<{ error: string }>().error).toMatch(new RegExp(`^config\\.batch_size must be an integer ${min}-${max}.* for model_type ${type}, got 65536$`));
    });

    it('refuses a config key no trainer reads, naming it and the keys there are', async () => {
      const res = await post('/api/training/start', { model_type: type, experiences: EXPERIENCES[type], config: { batchsize: 32 } });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'TRN_ERR_TRAINING_UNKNOWN_OPTION',
        field: 'config.batchsize',
        error: 'config.batchsize is not a training option; config takes learning_rate, batch_size, model_architecture, seed',
      });
    });

    it('estimates and trains a job at the largest batch size, the largest learning rate and another architecture', async () => {
      const jobId = `good-${type}`;
      const body = { job_id: jobId, model_type: type, experiences: EXPERIENCES[type], epochs: 1, config: { batch_size: BATCH[type][1], learning_rate: 1, model_architecture: ARCHITECTURES[type], seed: 7 } };
      const estimate = await post('/api/training/estimate', body);
      expect(estimate.statusCode).toBe(200);
      expect(estimate.json()).toMatchObject({ model_type: type, memory_bytes: expect.any(Number) });
      const started = await post('/api/training/start', body);
      expect(started.statusCode).toBe(200);
      expect(started.json()).toMatchObject({ job_id: jobId, status: expect.stringMatching(/^(started|queued)$/) });
      const end = await waitFor(async () => {
        const s = await status(jobId);
        return s.status === 'completed' || s.status === 'failed' ? s : null;
      }, 60_000, `${jobId} to end`);
      expect(end).toMatchObject({ status: 'completed', error: null });
    }, 90_000);
  });

  it('creates a folder only for the jobs it accepted', () => {
    expect(readdirSync(config.paths.checkpoints).filter((d) => d.startsWith('bad-'))).toEqual([]);
  });
});
