import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Reactor } from '../../src/reactor/reactor-service.js';
import { createLogger } from '../../src/util/logger.js';
import { tempHome } from '../helpers/processes.js';

describe('Reactor HTTP errors', () => {
  let reactor: Reactor;
  const inject = (opts: InjectOptions) => reactor.app.inject(opts);
  const start = (payload: unknown) =>
    inject({ method: 'POST', url: '/api/training/start', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

  beforeAll(async () => {
    const config = parseConfig({ JARVIS_HOME: tempHome(), REACTOR_CORE_PORT: '0', MAX_REQUEST_BODY_MB: '0.05', MAX_CONCURRENT_TRAINING_JOBS: '1', MAX_QUEUED_TRAINING_JOBS: '2' });
    reactor = new Reactor({ config, logger: createLogger({ service: 'reactor', level: 'silent' }) });
    await reactor.start();
  });
  afterAll(async () => {
    await reactor?.close();
  });

  it.each([
    ['a missing model_type', {}, /model_type/],
    ['a wrong-typed epochs', { model_type: 'nlu', epochs: 'ten' }, /epochs/],
    ['zero epochs', { model_type: 'nlu', epochs: 0 }, /epochs/],
    ['an unknown model type', { model_type: 'speech' }, /unknown model_type "speech"/],
    ['a job id with a path', { model_type: 'nlu', job_id: '../x' }, /job_id/],
    ['a negative batch size', { model_type: 'nlu', config: { batch_size: -1 } }, /config\.batch_size/],
    ['experiences that are not a list', { model_type: 'nlu', experiences: 'x' }, /experiences/],
    ['a dataset outside the drop-box', { model_type: 'nlu', dataset_path: '/etc/passwd', use_dropbox: true }, /dataset_path/],
    ['an empty buffer', { model_type: 'nlu' }, /no usable nlu experiences/],
    [
      'examples of a single class',
      { model_type: 'nlu', experiences: [1, 2, 3].map((i) => ({ type: 'command', input: { text: `play song ${i}` }, expected_output: { intent: 'PlayMusic' } })) },
      /at least 2 classes/,
    ],
  ])('rejects %s with a 400 naming the problem', async (_name, payload, pattern) => {
    const res = await start(payload);
    expect(res.statusCode).toBe(400);
    const body = res.json<{ error: string; details: string; code: string }>();
    expect(body.code).toMatch(/^TRN_ERR_/);
    expect(`${body.error} ${body.details}`).toMatch(pattern);
  });

  it('rejects a body that is not JSON, and one that is too large, with 4xx JSON errors', async () => {
    const bad = await inject({ method: 'POST', url: '/api/training/start', headers: { 'content-type': 'application/json' }, payload: '{"model_type": ' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'TRN_ERR_HTTP_INVALID_JSON' });
    const big = await start({ model_type: 'nlu', experiences: [{ input: { text: 'x'.repeat(100_000) } }] });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: 'TRN_ERR_HTTP_BODY_TOO_LARGE', error: expect.stringMatching(/larger than \d+ bytes/) });
  });

  it('rejects path-like job ids in URLs with 400 and unknown ids with 404', async () => {
    expect((await inject({ method: 'GET', url: '/api/training/status/..%2Fx' })).statusCode).toBe(400);
    expect((await inject({ method: 'POST', url: '/api/training/cancel/..%2F..%2Fetc' })).statusCode).toBe(400);
    const missing = await inject({ method: 'GET', url: '/api/training/status/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toBe('Training job not found');
    expect((await inject({ method: 'GET', url: '/api/training/stream/nope' })).statusCode).toBe(404);
    expect((await inject({ method: 'GET', url: '/api/training/jobs?status=bogus' })).statusCode).toBe(400);
  });

  it('never answers a start body with a 500 (property-based)', async () => {
    const experience = fc.record(
      {
        type: fc.constantFrom('command', 'voice_auth', 'vision', 'interaction', 'pair', 'other'),
        input: fc.oneof(fc.record({ text: fc.string() }), fc.jsonValue()),
        expected_output: fc.oneof(fc.record({ intent: fc.string() }), fc.jsonValue()),
        success: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          job_id: fc.oneof(fc.string(), fc.constantFrom('../x', '.hidden', 'ok-1', 'a/b'), fc.integer()),
          model_type: fc.oneof(fc.constantFrom('nlu', 'voice', 'vision', 'embedding', 'x'), fc.jsonValue()),
          experiences: fc.oneof(fc.array(experience, { maxLength: 5 }), fc.jsonValue()),
          epochs: fc.oneof(fc.integer({ min: -5, max: 3 }), fc.double(), fc.string()),
          checkpoint_interval: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.jsonValue()),
          config: fc.oneof(fc.record({ batch_size: fc.jsonValue(), learning_rate: fc.jsonValue(), seed: fc.jsonValue() }, { requiredKeys: [] }), fc.jsonValue()),
          dataset_path: fc.oneof(fc.string(), fc.constantFrom('../../etc/passwd', '/etc/passwd')),
          use_dropbox: fc.jsonValue(),
          fencing_token: fc.oneof(fc.integer(), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const res = await start(payload);
        expect(res.statusCode).not.toBe(500);
        if (res.statusCode >= 400) expect(res.json()).toHaveProperty('error');
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
