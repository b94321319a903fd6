import { describe, expect, it } from 'vitest';
import { initialStatus, intentEffect, pointersFor, reconcile, type RolloutSpec, type RolloutStatus } from '../../src/rollout/index.js';
import { SEC, T0, intents, obs, outcomes, spec } from './helpers.js';

const started = (s: RolloutSpec) => initialStatus(s, T0).status;

/** Runs the controller once per step with good outcomes, `perStep` each, spacing steps by the monitor duration. */
function walk(s: RolloutSpec, perStep: number, maxTicks = 20) {
  let status = started(s);
  let ok = 0;
  let now = T0;
  const seen: number[] = [status.currentPercentage];
  for (let i = 0; i < maxTicks && (status.phase === 'deploying' || status.phase === 'paused'); i++) {
    ok += perStep;
    now += s.monitorDurationMs;
    status = reconcile(s, status, obs({ 'v1.0.1': outcomes(ok, 0) }), now).status;
    seen.push(status.currentPercentage);
  }
  return { status, seen };
}

describe('initialStatus', () => {
  it('starts at the first step with a DeploymentStarted decision and points prime at both versions', () => {
    const s = spec();
    const r = initialStatus(s, T0);
    expect(r.status).toMatchObject({ phase: 'deploying', currentPercentage: 10, stepIndex: 0, stepStartedAt: T0, finishedAt: null });
    expect(r.decisions).toEqual([expect.objectContaining({ event: 'started', reason: 'DeploymentStarted', percentage: 10, at: T0 })]);
    expect(r.decisions[0].message).toMatch(/10 % of nlu traffic to start, v1\.0\.0 keeps the rest/);
    expect(pointersFor(s, r.status)).toEqual({ stable: 'v1.0.0', canary: 'v1.0.1', canaryPercentage: 10 });
  });

  it('completes at once with AlreadyStable when the version is already stable, and NoStableVersion without a stable', () => {
    const same = initialStatus(spec({ previousVersion: 'v1.0.1' }), T0);
    expect(same.status.phase).toBe('completed');
    expect(same.decisions.map((d) => [d.event, d.reason])).toEqual([['completed', 'AlreadyStable']]);
    const none = initialStatus(spec({ previousVersion: null }), T0);
    expect(none.decisions.map((d) => d.reason)).toEqual(['NoStableVersion']);
    expect(pointersFor(spec({ previousVersion: null }), none.status)).toEqual({ stable: 'v1.0.1', canary: null, canaryPercentage: 0 });
  });
});

describe('reconcile gradual_rollout', () => {
  it('holds a step until both monitor_duration and min_samples have passed, then advances to the next step', () => {
    const s = spec();
    const st = started(s);
    const enoughSamples = obs({ 'v1.0.1': outcomes(60, 0) });
    const early = reconcile(s, st, enoughSamples, T0 + 299 * SEC);
    expect(early.status.currentPercentage).toBe(10);
    expect(early.decisions.map((d) => d.reason)).toEqual(['WaitingForDuration']);

    const fewSamples = reconcile(s, st, obs({ 'v1.0.1': outcomes(49, 0) }), T0 + 3600 * SEC);
    expect(fewSamples.status.currentPercentage).toBe(10);
    expect(fewSamples.decisions.map((d) => d.reason)).toEqual(['WaitingForSamples']);

    const both = reconcile(s, st, enoughSamples, T0 + 300 * SEC);
    expect(both.status).toMatchObject({ currentPercentage: 25, stepIndex: 1, stepStartedAt: T0 + 300 * SEC, stepBaseline: { 'v1.0.1': outcomes(60, 0) } });
    expect(both.decisions).toEqual([
      expect.objectContaining({ event: 'advanced', reason: 'StepAdvanced', percentage: 25, numbers: expect.objectContaining({ samples: 60, error_rate: 0 }) }),
    ]);
    expect(both.decisions[0].message).toBe('advance: 10 % → 25 %: error rate 0 ≤ 0.05 over 60 outcomes');
  });

  it('walks 10 → 25 → 50 → 75 and completes at 100 with the new version stable', () => {
    const s = spec();
    const { status, seen } = walk(s, 50);
    expect(seen).toEqual([10, 25, 50, 75, 100]);
    expect(status).toMatchObject({ phase: 'completed', currentPercentage: 100 });
    expect(pointersFor(s, status)).toEqual({ stable: 'v1.0.1', canary: null, canaryPercentage: 0 });
  });

  it('measures each step from its start: outcomes of the previous step do not count toward the next one', () => {
    const s = spec();
    const first = reconcile(s, started(s), obs({ 'v1.0.1': outcomes(50, 0) }), T0 + 300 * SEC).status;
    const next = reconcile(s, first, obs({ 'v1.0.1': outcomes(80, 0) }), T0 + 900 * SEC);
    expect(next.status.currentPercentage).toBe(25);
    expect(next.decisions[0]).toMatchObject({ reason: 'WaitingForSamples', numbers: expect.objectContaining({ samples: 30 }) });
  });

  it('rolls back within one reconcile when the error rate passes the limit, stating rate, samples and threshold', () => {
    const s = spec();
    const at25 = reconcile(s, started(s), obs({ 'v1.0.1': outcomes(50, 0) }), T0 + 300 * SEC).status;
    // 412 outcomes in this step, 26 of them errors (20 negative feedbacks + 6 thrown): 0.063.
    const counts = { 'v1.0.1': { requests: 462, errors: 6, feedbackSuccess: 436, feedbackFailure: 20 } };
    const r = reconcile(s, at25, obs(counts), T0 + 301 * SEC);
    expect(r.status).toMatchObject({ phase: 'rolled_back', currentPercentage: 0, finishedAt: T0 + 301 * SEC });
    expect(r.decisions).toHaveLength(1);
    expect(r.decisions[0]).toMatchObject({
      event: 'rolled_back',
      reason: 'ErrorRateExceeded',
      percentage: 0,
      message: 'rollback: error rate 0.063 > 0.05 over 412 outcomes',
      numbers: { error_rate: 0.063, samples: 412, errors: 26, threshold: 0.05, step_percentage: 25, step_index: 1 },
    });
    expect(pointersFor(s, r.status)).toEqual({ stable: 'v1.0.0', canary: null, canaryPercentage: 0 });
  });

  it('does not roll back on one early failure, but does once the errors alone exceed the limit at min_samples', () => {
    const s = spec();
    const st = started(s);
    expect(reconcile(s, st, obs({ 'v1.0.1': outcomes(0, 1) }), T0 + SEC).status.phase).toBe('deploying');
    expect(reconcile(s, st, obs({ 'v1.0.1': outcomes(0, 2) }), T0 + SEC).status.phase).toBe('deploying');
    // 3 errors > 0.05 × 50: the step's rate is over the limit whatever the next 47 outcomes are.
    const r = reconcile(s, st, obs({ 'v1.0.1': outcomes(0, 3) }), T0 + SEC);
    expect(r.status.phase).toBe('rolled_back');
    expect(r.decisions[0].message).toBe('rollback: error rate 1 > 0.05 over 3 outcomes');
  });

  it('pauses instead of rolling back without auto_rollback, once, and keeps the canary at its step', () => {
    const s = spec({ autoRollback: false });
    const bad = obs({ 'v1.0.1': outcomes(40, 10) });
    const r = reconcile(s, started(s), bad, T0 + SEC);
    expect(r.status).toMatchObject({ phase: 'paused', currentPercentage: 10 });
    expect(r.decisions.map((d) => [d.event, d.reason])).toEqual([['paused', 'ErrorRateExceeded']]);
    expect(r.decisions[0].message).toMatch(/auto_rollback is off/);
    const again = reconcile(s, r.status, bad, T0 + 400 * SEC);
    expect(again.changed).toBe(false);
    expect(again.status).toBe(r.status);
  });

  it('rolls back with CanaryLoadFailed when prime could not load the new version', () => {
    const s = spec();
    const r = reconcile(s, started(s), obs({}, { canaryLoad: 'failed', canaryLoadError: 'probe threw' }), T0 + SEC);
    expect(r.status.phase).toBe('rolled_back');
    expect(r.decisions[0]).toMatchObject({ reason: 'CanaryLoadFailed', message: 'rollback: prime could not load v1.0.1: probe threw' });
  });
});

describe('reconcile other strategies', () => {
  it('immediate completes on its first reconcile with all traffic on the new version', () => {
    const s = spec({ strategy: 'immediate', steps: [100] });
    expect(started(s).currentPercentage).toBe(100);
    const r = reconcile(s, started(s), obs(), T0 + 1);
    expect(r.status.phase).toBe('completed');
    expect(r.decisions.map((d) => d.reason)).toEqual(['RolloutCompleted']);
  });

  it('canary holds at its initial percentage, then promotes straight to 100 %', () => {
    const s = spec({ strategy: 'canary', steps: [5, 100] });
    const { seen, status } = walk(s, 60);
    expect(seen).toEqual([5, 100]);
    expect(status.phase).toBe('completed');
  });

  it('blue_green waits for the warm check, switches 100 % at once keeping the old version, then completes', () => {
    const s = spec({ strategy: 'blue_green', steps: [0, 100] });
    const st = started(s);
    expect(pointersFor(s, st)).toEqual({ stable: 'v1.0.0', canary: 'v1.0.1', canaryPercentage: 0 });
    const cold = reconcile(s, st, obs(), T0 + 3600 * SEC);
    expect(cold.decisions.map((d) => d.reason)).toEqual(['WaitingForWarmup']);
    expect(reconcile(s, cold.status, obs(), T0 + 3601 * SEC).changed).toBe(false);

    const warm = reconcile(s, cold.status, obs({}, { canaryLoad: 'ready' }), T0 + 3602 * SEC);
    expect(warm.decisions.map((d) => d.reason)).toEqual(['TrafficSwitched']);
    expect(pointersFor(s, warm.status)).toEqual({ stable: 'v1.0.0', canary: 'v1.0.1', canaryPercentage: 100 });

    const done = reconcile(s, warm.status, obs({ 'v1.0.1': outcomes(60, 0) }, { canaryLoad: 'ready' }), T0 + 3902 * SEC);
    expect(done.status.phase).toBe('completed');
    const failing = reconcile(s, warm.status, obs({ 'v1.0.1': outcomes(50, 10) }, { canaryLoad: 'ready' }), T0 + 3603 * SEC);
    expect(failing.status).toMatchObject({ phase: 'rolled_back', currentPercentage: 0 });
  });

  const ab = (stableOk: number, stableBad: number, canaryOk: number, canaryBad: number) =>
    obs({ 'v1.0.0': outcomes(stableOk, stableBad), 'v1.0.1': outcomes(canaryOk, canaryBad) });

  it('ab_test promotes a canary that errs significantly less, with z and both samples in the decision', () => {
    const s = spec({ strategy: 'ab_test', steps: [50], rollbackOnErrorRate: 0.5 });
    const r = reconcile(s, started(s), ab(160, 40, 190, 10), T0 + 300 * SEC);
    expect(r.status.phase).toBe('completed');
    expect(r.decisions[0]).toMatchObject({ reason: 'CanaryBetter', numbers: expect.objectContaining({ samples: 200, stable_samples: 200, stable_error_rate: 0.2, error_rate: 0.05 }) });
    expect(r.decisions[0].numbers.z).toBeLessThan(-1.96);
  });

  it('ab_test rolls back a canary that errs significantly more, and holds when the difference is not significant', () => {
    const s = spec({ strategy: 'ab_test', steps: [50], rollbackOnErrorRate: 0.5 });
    const worse = reconcile(s, started(s), ab(190, 10, 160, 40), T0 + 300 * SEC);
    expect(worse.status.phase).toBe('rolled_back');
    expect(worse.decisions[0].reason).toBe('CanaryWorse');
    expect(worse.decisions[0].numbers.z).toBeGreaterThan(1.96);
    const same = reconcile(s, started(s), ab(180, 20, 178, 22), T0 + 300 * SEC);
    expect(same.status.phase).toBe('deploying');
    expect(same.decisions.map((d) => d.reason)).toEqual(['NoSignificantDifference']);
  });

  it('ab_test waits for min_samples on each arm, not just the canary', () => {
    const s = spec({ strategy: 'ab_test', steps: [50], rollbackOnErrorRate: 0.5 });
    const r = reconcile(s, started(s), ab(30, 0, 500, 100), T0 + 300 * SEC);
    expect(r.status.phase).toBe('deploying');
    expect(r.decisions[0]).toMatchObject({ reason: 'WaitingForSamples', message: 'holding at 50 %: waiting for 50 outcomes on each version' });
  });
});

describe('reconcile operator intents', () => {
  const s = spec();
  const at10 = () => started(s);

  it('pause holds the step, a second pause changes nothing, resume starts a fresh measurement window', () => {
    const paused = reconcile(s, at10(), obs({}, intents('pause')), T0 + SEC);
    expect(paused.status.phase).toBe('paused');
    expect(paused.decisions.map((d) => d.reason)).toEqual(['OperatorPaused']);
    const twice = reconcile(s, paused.status, obs({ 'v1.0.1': outcomes(100, 0) }, intents('pause')), T0 + 900 * SEC);
    expect(twice.changed).toBe(false);
    expect(twice.status).toBe(paused.status);
    const counts = { 'v1.0.1': outcomes(100, 0) };
    const resumed = reconcile(s, paused.status, obs(counts, intents('resume')), T0 + 901 * SEC);
    expect(resumed.status).toMatchObject({ phase: 'deploying', stepStartedAt: T0 + 901 * SEC, stepBaseline: counts });
    expect(resumed.decisions.map((d) => d.reason)).toEqual(['OperatorResumed', 'WaitingForSamples']);
  });

  it('promote completes at once, abort ends with the old version, and both are idempotent', () => {
    const promoted = reconcile(s, at10(), obs({}, intents('promote')), T0 + SEC);
    expect(promoted.status).toMatchObject({ phase: 'completed', currentPercentage: 100 });
    expect(promoted.decisions.map((d) => d.reason)).toEqual(['OperatorPromoted']);
    expect(reconcile(s, promoted.status, obs({}, intents('promote')), T0 + 2 * SEC).changed).toBe(false);

    const aborted = reconcile(s, at10(), obs({}, intents('pause', 'abort')), T0 + SEC);
    expect(aborted.status).toMatchObject({ phase: 'aborted', currentPercentage: 0 });
    expect(aborted.decisions.map((d) => d.reason)).toEqual(['OperatorAborted']);
    expect(reconcile(s, aborted.status, obs({}, intents('abort')), T0 + 2 * SEC).status).toBe(aborted.status);
  });

  it('answers each command in each phase with apply, noop or conflict', () => {
    expect(intentEffect('deploying', 'resume')).toBe('noop');
    expect(intentEffect('paused', 'pause')).toBe('noop');
    expect(intentEffect('completed', 'promote')).toBe('noop');
    expect(intentEffect('aborted', 'abort')).toBe('noop');
    expect(intentEffect('rolled_back', 'abort')).toBe('noop');
    expect(intentEffect('completed', 'abort')).toBe('conflict');
    expect(intentEffect('rolled_back', 'resume')).toBe('conflict');
    expect(intentEffect('deploying', 'pause')).toBe('apply');
  });
});

describe('reconcile without news', () => {
  it('returns the very status it was given, timestamps included, when nothing changes', () => {
    const s = spec();
    const first = reconcile(s, started(s), obs({ 'v1.0.1': outcomes(10, 0) }), T0 + 10 * SEC);
    expect(first.changed).toBe(true);
    const frozen: RolloutStatus = structuredClone(first.status);
    for (const t of [20, 60, 120, 299]) {
      const r = reconcile(s, first.status, obs({ 'v1.0.1': outcomes(10 + Math.floor(t / 10), 0) }), T0 + t * SEC);
      expect(r.changed).toBe(false);
      expect(r.decisions).toEqual([]);
      expect(r.status).toBe(first.status);
    }
    expect(first.status).toEqual(frozen);
    const cond = first.status.conditions.find((c) => c.type === 'Progressing')!;
    expect(cond).toMatchObject({ reason: 'WaitingForSamples', lastUpdateAt: T0 + 10 * SEC, lastTransitionAt: T0 });
  });

  it('never changes a finished deployment', () => {
    const s = spec({ strategy: 'immediate', steps: [100] });
    const done = reconcile(s, started(s), obs(), T0 + 1).status;
    const r = reconcile(s, done, obs({ 'v1.0.1': outcomes(0, 500) }, intents('pause', 'resume')), T0 + 3600 * SEC);
    expect(r.status).toBe(done);
  });
});
