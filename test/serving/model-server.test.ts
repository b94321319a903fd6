import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TrinityError } from '../../src/errors.js';
import { digestOf } from '../../src/registry/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { NluPredictor } from '../../src/models/nlu/predictor.js';
import { createNluVersions, type NluVersions } from './helpers.js';
import { tempHome } from '../helpers/processes.js';

let nlu: NluVersions;
let v1: string;
let v2: string;

beforeAll(async () => {
  nlu = await createNluVersions(2);
  [v1, v2] = nlu.versions;
});
afterAll(() => nlu?.cleanup());

/** A private copy of the registry folder, for tests that damage it. */
function copyOfModels(): string {
  const dir = join(tempHome('trinity-models-'), 'models');
  cpSync(nlu.modelsDir, dir, { recursive: true });
  return dir;
}

/** The TrinityError a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<TrinityError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TrinityError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

function catchError(fn: () => unknown): TrinityError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TrinityError) return err;
    throw err;
  }
  throw new Error('expected a TrinityError');
}

describe('ModelServer', () => {
  it('serves a pushed split and attributes feedback and errors to the version that served', async () => {
    const server = new ModelServer({ modelsDir: nlu.modelsDir });
    const view = await server.applySplit({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 50, deploymentId: 'dep-1' });
    expect(view).toMatchObject({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 50, deploymentId: 'dep-1' });

    const served = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const out = server.predict('nlu', { text: 'play the new album by daft punk' }, `s${i}`);
      expect(out.prediction).toMatchObject({ intent: expect.any(String), confidence: expect.any(Number) });
      served.set(out.predictionId, out.modelVersion);
    }
    expect(new Set(served.values())).toEqual(new Set([v1, v2]));
    for (const [id, version] of served) {
      const f = server.feedback(id, version === v1);
      expect(f).toMatchObject({ modelType: 'nlu', modelVersion: version, duplicate: false });
    }
    const first = [...served.keys()][0];
    expect(server.feedback(first, served.get(first) === v1).duplicate).toBe(true);
    expect(catchError(() => server.feedback(first, served.get(first) !== v1)).code).toBe('TRN_ERR_SERVING_FEEDBACK_CONFLICT');
    expect(catchError(() => server.feedback('no-such-id', true)).statusCode).toBe(404);

    const bad = catchError(() => server.predict('nlu', { txt: 'typo' }, 's0'));
    expect(bad).toMatchObject({ statusCode: 400, code: 'TRN_ERR_SERVING_INVALID_INPUT' });
    expect(bad.message).toContain('input.text');

    const stats = server.stats();
    const n1 = [...served.values()].filter((v) => v === v1).length;
    const badVersion = bad.extra.model_version as string;
    expect(stats.instance_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(stats.models.nlu[v1]).toEqual({ requests: n1 + (badVersion === v1 ? 1 : 0), errors: badVersion === v1 ? 1 : 0, feedback_success: n1, feedback_failure: 0 });
    expect(stats.models.nlu[v2]).toEqual({ requests: 40 - n1 + (badVersion === v2 ? 1 : 0), errors: badVersion === v2 ? 1 : 0, feedback_success: 0, feedback_failure: 40 - n1 });
    expect(server.requestsLastMinute()).toBe(41);
    await server.close();
    await server.close();
  });

  it('answers 404 for an unknown model type and 503 naming what to do when nothing is deployed', async () => {
    const server = new ModelServer({ modelsDir: nlu.modelsDir });
    expect(catchError(() => server.predict('speech', { text: 'x' }))).toMatchObject({ statusCode: 404, code: 'TRN_ERR_SERVING_UNKNOWN_MODEL_TYPE' });
    const none = catchError(() => server.predict('nlu', { text: 'x' }));
    expect(none).toMatchObject({ statusCode: 503, code: 'TRN_ERR_SERVING_NO_MODEL' });
    expect(none.message).toMatch(/deploy/);
    await server.close();
    expect(catchError(() => server.predict('nlu', { text: 'x' })).code).toBe('TRN_ERR_SERVING_CLOSED');
  });

  it('says "loading, retry" while a type\'s first version loads, and "nothing deployed" once a load failed', async () => {
    const server = new ModelServer({ modelsDir: nlu.modelsDir });
    const applying = server.applySplit({ modelType: 'nlu', stable: v1, canary: null, canaryPercentage: 0 });
    const loading = catchError(() => server.predict('nlu', { text: 'x' }));
    expect(loading).toMatchObject({ statusCode: 503, code: 'TRN_ERR_SERVING_MODEL_LOADING', extra: { retry_after_seconds: 1, version: v1 } });
    expect(loading.message).toBe(`the nlu model ${v1} is still loading; retry in a second`);
    await applying;
    expect(server.predict('nlu', { text: 'play some jazz' }).modelVersion).toBe(v1);

    await server.close();

    const fresh = new ModelServer({ modelsDir: nlu.modelsDir });
    const missing = fresh.applySplit({ modelType: 'nlu', stable: 'v9.9.9', canary: null, canaryPercentage: 0 });
    expect(catchError(() => fresh.predict('nlu', { text: 'x' })).code).toBe('TRN_ERR_SERVING_MODEL_LOADING');
    await rejection(missing);
    const none = catchError(() => fresh.predict('nlu', { text: 'x' }));
    expect(none).toMatchObject({ statusCode: 503, code: 'TRN_ERR_SERVING_NO_MODEL' });
    expect(none.extra.retry_after_seconds).toBeUndefined();
    expect(none.message).toMatch(/v9\.9\.9: manifest\.json not found/);
    await fresh.close();
  });

  it('never routes to a version whose artifacts are corrupt: 422, the old table stays, the failure is listed', async () => {
    const modelsDir = copyOfModels();
    const weights = join(modelsDir, 'nlu', v2, 'weights.bin');
    const bytes = readFileSync(weights);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(weights, bytes);
    const server = new ModelServer({ modelsDir });
    await server.applySplit({ modelType: 'nlu', stable: v1, canary: null, canaryPercentage: 0 });

    const err = await rejection(server.applySplit({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 100 }));
    expect(err).toMatchObject({ statusCode: 422, code: 'TRN_ERR_SERVING_LOAD_FAILED', extra: { version: v2 } });
    expect(err.message).toMatch(/weights\.bin: sha256 differs/);
    expect(server.split('nlu')).toMatchObject({ stable: v1, canary: null, canaryPercentage: 0 });
    for (let i = 0; i < 200; i++) expect(server.predict('nlu', { text: 'book a table' }, `u${i}`).modelVersion).toBe(v1);
    expect(server.recentFailures()).toEqual([expect.objectContaining({ modelType: 'nlu', version: v2, error: expect.stringMatching(/sha256 differs/) })]);

    // A reconcile wanting the same canary applies the stable part only, and does not retry the load yet.
    await server.applySplit({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 100 }, 'reconcile');
    expect(server.split('nlu')).toMatchObject({ stable: v1, canary: null });
    expect(server.stats().models.nlu[v2]).toBeUndefined();
    await server.close();
  });

  it('refuses a version whose manifest digest differs from the registry, and one whose predictor cannot load', async () => {
    const modelsDir = copyOfModels();
    const server = new ModelServer({ modelsDir });
    const wrong = await rejection(
      server.applySplit({ modelType: 'nlu', stable: v1, canary: null, canaryPercentage: 0, expectedDigests: { [v1]: nlu.digests[v2] } }),
    );
    expect(wrong.message).toMatch(/differs from the registry/);

    // Hashes that agree with the manifest, but content no predictor can read.
    const dir = join(modelsDir, 'nlu', v2);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: { path: string; bytes: number; sha256: string }[]; digest: string };
    writeFileSync(join(dir, 'model.json'), '{"format":"nonsense"}');
    const { createHash } = await import('node:crypto');
    const entry = manifest.files.find((f) => f.path === 'model.json')!;
    entry.bytes = Buffer.byteLength('{"format":"nonsense"}');
    entry.sha256 = createHash('sha256').update('{"format":"nonsense"}').digest('hex');
    manifest.digest = digestOf(manifest.files);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const broken = await rejection(server.reload('nlu', v2));
    expect(broken).toMatchObject({ statusCode: 422, extra: { version: v2 } });
    expect(server.split('nlu')).toBeUndefined();

    const missing = await rejection(server.reload('nlu', 'v9.9.9'));
    expect(missing.message).toMatch(/manifest\.json not found/);
    await expect(server.applySplit({ modelType: 'nlu', stable: '../v1', canary: null, canaryPercentage: 0 })).rejects.toMatchObject({
      code: 'TRN_ERR_SERVING_INVALID_SPLIT',
    });
    await server.close();
  });

  it('serialises swaps of a type, switches atomically and disposes each replaced predictor once', async () => {
    const dispose = vi.spyOn(NluPredictor.prototype, 'dispose');
    const server = new ModelServer({ modelsDir: nlu.modelsDir });
    const order: string[] = [];
    const swaps = [
      server.reload('nlu', v1).then(() => order.push('a')),
      server.applySplit({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 30 }).then(() => order.push('b')),
      server.reload('nlu', v2).then(() => order.push('c')),
    ];
    // Steady load while the swaps run: every prediction succeeds on a version of some table.
    let served = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        try {
          const out = server.predict('nlu', { text: 'what is the weather in paris' });
          expect([v1, v2]).toContain(out.modelVersion);
          served++;
        } catch (err) {
          // Before the first table exists the first version is loading (503 + retry); nothing else may fail.
          expect((err as TrinityError).code).toBe('TRN_ERR_SERVING_MODEL_LOADING');
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(swaps);
    stop = true;
    await load;
    expect(order).toEqual(['a', 'b', 'c']);
    expect(server.split('nlu')).toMatchObject({ stable: v2, canary: null });
    expect(served).toBeGreaterThan(0);
    expect(dispose).toHaveBeenCalledTimes(1);
    await server.close();
    expect(dispose).toHaveBeenCalledTimes(2);
    dispose.mockRestore();
  });

  it('keeps the applied time when the same split arrives again and only takes a new deployment id', async () => {
    let now = Date.parse('2025-01-01T00:00:00Z');
    const server = new ModelServer({ modelsDir: nlu.modelsDir, now: () => now });
    const a = await server.applySplit({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 10, deploymentId: 'dep-1' });
    now += 60_000;
    const b = await server.applySplit({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 10 });
    expect(b).toEqual(a);
    const c = await server.applySplit({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 10, deploymentId: 'dep-2' });
    expect(c).toEqual({ ...a, deploymentId: 'dep-2' });
    const d = await server.applySplit({ modelType: 'nlu', stable: v1, canary: v2, canaryPercentage: 25 });
    expect(d.appliedAt).toBe(new Date(now).toISOString());
    await server.close();
  });

  it('forgets the oldest predictions past predictionMemory (404 for their feedback) and refuses a memory it cannot allocate', async () => {
    const server = new ModelServer({ modelsDir: nlu.modelsDir, predictionMemory: 2 });
    await server.reload('nlu', v1);
    const [a, b, c] = [0, 1, 2].map(() => server.predict('nlu', { text: 'book a table for two' }).predictionId);
    expect(catchError(() => server.feedback(a, true))).toMatchObject({ statusCode: 404, code: 'TRN_ERR_SERVING_PREDICTION_NOT_FOUND' });
    expect(server.feedback(b, true).duplicate).toBe(false);
    expect(server.feedback(c, false).duplicate).toBe(false);
    await server.close();
    for (const predictionMemory of [0, 10_000_001, 1.5]) {
      expect(() => new ModelServer({ modelsDir: nlu.modelsDir, predictionMemory })).toThrow(expect.objectContaining({ code: 'TRN_ERR_SERVING_INVALID_OPTION' }));
    }
  });
});
