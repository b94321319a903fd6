import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attribute,
  diffStats,
  evaluateGate,
  initialStatus,
  isBreached,
  normalQuantile,
  parseDeployRequest,
  parseRollbackRequest,
  planSteps,
  reconcile,
  twoProportionZTest,
  type Intent,
  type PrimeStats,
  type RolloutDefaults,
} from '../../src/rollout/index.js';
import { SEC, T0, obs, outcomes, spec } from './helpers.js';

const DEFAULTS: RolloutDefaults = { rolloutSteps: [10, 25, 50, 75, 100], initialPercentage: 10, minSamples: 50, confidence: 0.95 };

describe('twoProportionZTest', () => {
  it('uses the two-sided critical value of the confidence (1.96 at 0.95, 2.576 at 0.99)', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.995)).toBeCloseTo(2.575829, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
  });

  it('computes z from the pooled proportion and is antisymmetric in its arms', () => {
    const a = { outcomes: 200, errors: 10, errorRate: 0.05, requests: 200 };
    const b = { outcomes: 200, errors: 40, errorRate: 0.2, requests: 200 };
    const t = twoProportionZTest(a, b, 0.95);
    // pooled 0.125, se = sqrt(0.125 × 0.875 × 2/200) = 0.03307
    expect(t.z).toBeCloseTo(-4.5356, 3);
    expect(t.verdict).toBe('better');
    expect(twoProportionZTest(b, a, 0.95)).toMatchObject({ verdict: 'worse' });
    expect(twoProportionZTest(b, a, 0.95).z).toBeCloseTo(4.5356, 3);
    expect(twoProportionZTest({ ...a, errors: 0, errorRate: 0 }, { ...b, errors: 0, errorRate: 0 }, 0.95)).toMatchObject({ z: 0, verdict: 'inconclusive' });
  });
});

describe('isBreached', () => {
  it('needs the rate over the limit and either min_samples outcomes or errors beyond limit × min_samples', () => {
    const f = (outcomesN: number, errors: number) => ({ outcomes: outcomesN, errors, errorRate: errors / outcomesN, requests: outcomesN });
    expect(isBreached(f(412, 26), 0.05, 50)).toBe(true);
    expect(isBreached(f(412, 20), 0.05, 50)).toBe(false);
    expect(isBreached(f(2, 2), 0.05, 50)).toBe(false);
    expect(isBreached(f(3, 3), 0.05, 50)).toBe(true);
    expect(isBreached({ outcomes: 0, errors: 0, errorRate: 0, requests: 0 }, 0.05, 50)).toBe(false);
  });
});

describe('parseDeployRequest', () => {
  it("fills CONTRACT §3's defaults and the environment's steps, strategy gradual_rollout", () => {
    const r = parseDeployRequest({ model_type: 'nlu', model_version: 'v1.0.1' }, DEFAULTS);
    expect(r).toMatchObject({
      strategy: 'gradual_rollout',
      steps: [10, 25, 50, 75, 100],
      rollbackOnErrorRate: 0.05,
      monitorDurationMs: 300_000,
      minSamples: 50,
      autoRollback: true,
      force: false,
    });
  });

  it('plans each strategy: initial_percentage joins the larger gradual steps; canary, ab_test, blue_green, immediate', () => {
    expect(planSteps('gradual_rollout', 5, [10, 50, 100], DEFAULTS)).toEqual([5, 10, 50, 100]);
    expect(planSteps('gradual_rollout', 30, undefined, DEFAULTS)).toEqual([30, 50, 75, 100]);
    expect(planSteps('canary', undefined, undefined, DEFAULTS)).toEqual([10, 100]);
    expect(planSteps('ab_test', 50, undefined, DEFAULTS)).toEqual([50]);
    expect(planSteps('blue_green', 10, undefined, DEFAULTS)).toEqual([0, 100]);
    expect(planSteps('immediate', 10, undefined, DEFAULTS)).toEqual([100]);
  });

  it('names the bad field in a 400 TRN_ERR_DEPLOY_INVALID_REQUEST', () => {
    const bad = (body: unknown) => {
      try {
        parseDeployRequest(body, DEFAULTS);
      } catch (err) {
        return err as { code: string; statusCode: number; message: string };
      }
      throw new Error('accepted');
    };
    expect(bad({ model_type: 'nlu', model_version: 'v1.0.1', config: { rollout_steps: [10, 50] } })).toMatchObject({
      code: 'TRN_ERR_DEPLOY_INVALID_REQUEST',
      statusCode: 400,
      message: 'config.rollout_steps: must end at 100',
    });
    expect(bad({ model_type: 'nlu', model_version: 'v1.0.1', strategy: 'yolo' }).message).toMatch(/^strategy: /);
    expect(bad({ model_type: 'nlu', model_version: 'v1.0.1', config: { rollback_on_error_rate: 2 } }).message).toMatch(/^config\.rollback_on_error_rate: /);
    expect(bad({ model_type: 'speech', model_version: 'v1.0.1' }).code).toBe('TRN_ERR_MODEL_UNKNOWN_TYPE');
    expect(bad({ model_type: 'nlu', model_version: '../x' }).code).toBe('TRN_ERR_MODEL_INVALID_VERSION');
    expect(bad(null).message).toMatch(/^model_type: /);
    expect(parseRollbackRequest({ model_type: 'nlu' })).toEqual({ modelType: 'nlu', previousVersion: undefined });
  });
});

describe('evaluateGate', () => {
  const gate = (candidate: number | null, stable: number | null, force = false) =>
    evaluateGate({
      modelType: 'nlu',
      candidate: { version: 'v1.0.1', metrics: { val_accuracy: candidate } },
      stable: { version: 'v1.0.0', metrics: { val_accuracy: stable } },
      force,
    });

  it('refuses a drop of more than 0.02, accepts 0.02 exactly, and lets force or a missing metric through', () => {
    expect(gate(0.85, 0.88)).toEqual({ passed: false, candidate: 0.85, stable: 0.88, drop: expect.closeTo(0.03, 9), basis: 'own validation splits' });
    expect(gate(0.86, 0.88)).toEqual({ passed: true, note: null });
    expect(gate(0.95, 0.88)).toEqual({ passed: true, note: null });
    expect(gate(0.5, 0.88, true)).toMatchObject({ passed: true, note: expect.stringMatching(/forced/) });
    expect(gate(null, 0.88)).toMatchObject({ passed: true, note: expect.stringMatching(/skipped/) });
  });

  it("prefers both versions' accuracy on the candidate job's own validation split when it evaluated this stable", () => {
    const withEvaluation = (evaluation: unknown) =>
      evaluateGate({
        modelType: 'nlu',
        // Own splits say a 0.05 drop; the same examples say the candidate is no worse.
        candidate: { version: 'v1.0.1', metrics: { val_accuracy: 0.83 }, evaluation },
        stable: { version: 'v1.0.0', metrics: { val_accuracy: 0.88 } },
        force: false,
      });
    const same = { validation_n: 500, candidate: { n: 500, accuracy: 0.9 }, stable: { version: 'v1.0.0', n: 500, accuracy: 0.89 }, seconds: 1 };
    expect(withEvaluation(same)).toEqual({ passed: true, note: null });
    const worse = { ...same, candidate: { n: 500, accuracy: 0.8 } };
    expect(withEvaluation(worse)).toEqual({ passed: false, candidate: 0.8, stable: 0.89, drop: expect.closeTo(0.09, 9), basis: 'same validation split' });
    // Evaluated against another stable (or that evaluation failed): fall back to each version's own split.
    expect(withEvaluation({ ...same, stable: { version: 'v0.9.0', n: 500, accuracy: 0.5 } })).toMatchObject({ passed: false, basis: 'own validation splits' });
    expect(withEvaluation({ ...same, stable: { version: 'v1.0.0', error: 'boom' } })).toMatchObject({ passed: false, basis: 'own validation splits' });
  });
});

describe('diffStats and attribute', () => {
  const stats = (instanceId: string, ok: number, startedAt: number | null = T0 - 3600 * SEC): PrimeStats => ({
    instanceId,
    startedAt,
    models: { nlu: { 'v1.0.1': outcomes(ok, 0), 'v1.0.0': outcomes(2 * ok, 0) } },
  });
  const window = { deploymentId: 'd', modelType: 'nlu', versions: ['v1.0.1', 'v1.0.0'], createdAt: T0 };

  it('adds the difference between two reads of one instance, and takes a restarted instance as it is', () => {
    const first = stats('a', 10);
    const same = diffStats({ instanceId: 'a', models: first.models }, stats('a', 25));
    expect(same.sameInstance).toBe(true);
    expect(attribute(same, stats('a', 25), [window])).toEqual([
      { deploymentId: 'd', version: 'v1.0.1', delta: outcomes(15, 0) },
      { deploymentId: 'd', version: 'v1.0.0', delta: outcomes(30, 0) },
    ]);
    const restarted = stats('b', 4, T0 + 60 * SEC);
    const diff = diffStats({ instanceId: 'a', models: first.models }, restarted);
    expect(diff.sameInstance).toBe(false);
    expect(attribute(diff, restarted, [window]).map((a) => a.delta)).toEqual([outcomes(4, 0), outcomes(8, 0)]);
  });

  it('only sets the mark for an unseen instance older than the deployment, and ignores other versions and types', () => {
    const old = stats('c', 1000);
    expect(attribute(diffStats(null, old), old, [window])).toEqual([]);
    const other = { ...stats('a', 5), models: { nlu: { 'v0.9.0': outcomes(5, 0) }, voice: { 'v1.0.1': outcomes(5, 0) } } };
    expect(attribute(diffStats({ instanceId: 'a', models: {} }, other), other, [window])).toEqual([]);
  });

  it('treats a counter that went down within one instance as reset and counts what it says now', () => {
    const d = diffStats({ instanceId: 'a', models: { nlu: { 'v1.0.1': outcomes(50, 0) } } }, { instanceId: 'a', startedAt: null, models: { nlu: { 'v1.0.1': outcomes(7, 0) } } });
    expect(d.deltas).toEqual([{ modelType: 'nlu', version: 'v1.0.1', delta: outcomes(7, 0) }]);
  });
});

describe('reconcile (properties)', () => {
  const step = fc.record({
    dt: fc.integer({ min: 0, max: 400 }),
    ok: fc.integer({ min: 0, max: 80 }),
    bad: fc.integer({ min: 0, max: 6 }),
    intent: fc.constantFrom<Intent | null>(null, null, null, null, 'pause', 'resume', 'promote', 'abort'),
  });
  const strategy = fc.constantFrom(
    spec(),
    spec({ strategy: 'canary', steps: [10, 100] }),
    spec({ strategy: 'ab_test', steps: [20] }),
    spec({ strategy: 'blue_green', steps: [0, 100] }),
    spec({ strategy: 'immediate', steps: [100] }),
    spec({ autoRollback: false }),
  );

  it('keeps percentages in 0–100, never leaves a terminal phase, moves steps forward only and writes nothing when nothing changed', () => {
    fc.assert(
      fc.property(strategy, fc.array(step, { maxLength: 30 }), fc.boolean(), (s, steps, warm) => {
        let status = initialStatus(s, T0).status;
        let now = T0;
        let ok = 0;
        let bad = 0;
        for (const x of steps) {
          now += x.dt * SEC;
          ok += x.ok;
          bad += x.bad;
          const wasTerminal = !['deploying', 'paused'].includes(status.phase);
          const r = reconcile(s, status, obs({ 'v1.0.1': outcomes(ok, bad), 'v1.0.0': outcomes(ok, 0) }, { canaryLoad: warm ? 'ready' : 'unknown', intents: x.intent ? [x.intent] : [] }), now);
          if (!r.changed) expect(r.status).toBe(status);
          else expect(r.status.updatedAt).toBe(now);
          if (wasTerminal) expect(r.status).toBe(status);
          expect(r.status.currentPercentage).toBeGreaterThanOrEqual(0);
          expect(r.status.currentPercentage).toBeLessThanOrEqual(100);
          expect(r.status.stepIndex).toBeGreaterThanOrEqual(status.stepIndex);
          for (const d of r.decisions) expect(d.reason).toMatch(/^[A-Z][A-Za-z]+$/);
          status = r.status;
        }
      }),
      { numRuns: 300 },
    );
  });
});
