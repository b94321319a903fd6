import { describe, expect, it } from 'vitest';
import { decidePlacement, deployBody, estimateDataSize, evaluateResources, parseTriggerRequest, type ResourceSnapshot } from '../../src/coordinator/index.js';

const snapshot = (o: Partial<{ primeGb: number; primeBusy: number; reactorGb: number; reactorBusy: number; hostGb: number }> = {}): ResourceSnapshot => ({
  prime: { source: 'api', memoryGb: o.primeGb ?? 1, busy: o.primeBusy ?? 0 },
  reactor: { source: 'api', memoryGb: o.reactorGb ?? 1, busy: o.reactorBusy ?? 0 },
  hostAvailableGb: o.hostGb ?? 60,
  at: 0,
});
const limits = { maxTotalGb: 64 };
const estimate = { gb: 6, source: 'nlu estimate' };
const setting = { gb: 40, source: 'TRAINING_MEMORY_RESERVE_GB' };

describe('evaluateResources', () => {
  it('starts when the budget, the host and both services allow it', () => {
    expect(evaluateResources(snapshot(), limits, setting)).toEqual({ ok: true, summary: expect.stringMatching(/^62 GB free ≥ 40 GB needed \(TRAINING_MEMORY_RESERVE_GB\)/) });
  });

  it("names the design's example, with the job's need and where it came from: 5.1 GB free < 6 GB needed (nlu estimate)", () => {
    const v = evaluateResources(snapshot({ primeGb: 38, reactorGb: 20.9 }), limits, estimate);
    expect(v).toEqual({ ok: false, reason: 'waiting: 5.1 GB free < 6 GB needed (nlu estimate): MAX_TOTAL_MEMORY_GB 64 − J-Prime 38 − Reactor-Core 20.9' });
  });

  it("starts a job whose estimate fits where the design's flat 40 GB would wait", () => {
    const laptop = snapshot({ primeGb: 0.3, reactorGb: 0.2, hostGb: 22 });
    expect(evaluateResources(laptop, limits, { gb: 0.3, source: 'nlu estimate' })).toMatchObject({ ok: true, summary: expect.stringMatching(/≥ 0\.3 GB needed \(nlu estimate\), host has 22 GB available/) });
    expect(evaluateResources(laptop, limits, setting)).toEqual({ ok: false, reason: 'waiting: host has 22 GB available < 40 GB needed (TRAINING_MEMORY_RESERVE_GB)' });
  });

  it('waits for J-Prime requests, reactor jobs and the host, listing every cause', () => {
    expect(evaluateResources(snapshot({ primeBusy: 3 }), limits, estimate)).toEqual({ ok: false, reason: 'waiting: J-Prime has 3 active requests' });
    expect(evaluateResources(snapshot({ primeBusy: 1, reactorBusy: 1, hostGb: 0.4 }), limits, { gb: 0.6, source: 'TRAINING_MEMORY_RESERVE_GB' })).toEqual({
      ok: false,
      reason: 'waiting: J-Prime has 1 active request; Reactor-Core has 1 active training job; host has 0.4 GB available < 0.6 GB needed (TRAINING_MEMORY_RESERVE_GB)',
    });
  });

  it('does not start on a reactor it knows nothing about', () => {
    const s = snapshot();
    s.reactor = { source: 'absent', memoryGb: 0, busy: 0, note: 'not reachable (ECONNREFUSED)' };
    expect(evaluateResources(s, limits, estimate)).toMatchObject({ ok: false, reason: 'waiting: Reactor-Core resources unknown (not reachable (ECONNREFUSED))' });
  });
});

describe('decidePlacement', () => {
  const policy = { costAware: true, localMaxSizeMb: 1000, cloudMinSizeMb: 1000, gcpEnabled: true, localUrl: 'http://local', cloudUrl: 'http://cloud' };
  const big = { mb: 1500, basis: '1500000 usable × 1 KB' };

  it('keeps small jobs local and sends large ones to the cloud reactor', () => {
    expect(decidePlacement(policy, { mb: 2, basis: 'x' })).toMatchObject({ target: 'local', reactor_url: 'http://local', reason: 'data 2 MB (x) ≤ LOCAL_TRAINING_MAX_SIZE_MB 1000: local' });
    expect(decidePlacement(policy, big)).toMatchObject({ target: 'cloud', reactor_url: 'http://cloud', reason: expect.stringMatching(/^data 1500 MB .* > LOCAL_TRAINING_MAX_SIZE_MB 1000: cloud/) });
  });

  it('runs large jobs locally with a warning when the cloud is off or not configured, or cost awareness is off', () => {
    expect(decidePlacement({ ...policy, gcpEnabled: false }, big)).toMatchObject({ target: 'local', warning: expect.stringMatching(/GCP_TRAINING_ENABLED is off; training locally/) });
    expect(decidePlacement({ ...policy, cloudUrl: undefined }, big)).toMatchObject({ target: 'local', warning: expect.stringMatching(/no cloud reactor is configured/) });
    expect(decidePlacement({ ...policy, costAware: false }, big)).toMatchObject({ target: 'local', reason: expect.stringMatching(/^COST_AWARE_TRAINING is off/) });
    expect(decidePlacement({ ...policy, cloudMinSizeMb: 2000 }, big)).toMatchObject({ target: 'local', warning: expect.any(String) });
  });

  it('sends large jobs to a live worker pool, gpu before cloud, when no cloud reactor is configured', () => {
    const noCloudReactor = { ...policy, cloudUrl: undefined };
    expect(decidePlacement(noCloudReactor, big, { local: 1, cloud: 2 })).toMatchObject({ target: 'cloud', pool: 'cloud', reactor_url: 'http://local', reason: expect.stringMatching(/worker pool cloud \(2 live\)$/) });
    expect(decidePlacement(noCloudReactor, big, { cloud: 1, gpu: 1 })).toMatchObject({ target: 'cloud', pool: 'gpu' });
    // Small jobs stay with the reactor's own runners; only local workers alive: local, with the warning.
    expect(decidePlacement(noCloudReactor, { mb: 2, basis: 'x' }, { cloud: 1 })).toMatchObject({ target: 'local' });
    expect(decidePlacement(noCloudReactor, { mb: 2, basis: 'x' }, { cloud: 1 }).pool).toBeUndefined();
    expect(decidePlacement(noCloudReactor, big, { local: 3, cloud: 0 })).toMatchObject({ target: 'local', warning: expect.stringMatching(/no gpu or cloud worker runs/) });
    // A configured cloud reactor (older setups) keeps precedence.
    expect(decidePlacement(policy, big, { gpu: 1 })).toMatchObject({ target: 'cloud', reactor_url: 'http://cloud' });
    expect(decidePlacement(policy, big, { gpu: 1 }).pool).toBeUndefined();
  });

  it('estimates the data as reactor usable count × the average size jarvis forwarded', () => {
    expect(estimateDataSize(2048, { experiences: 10, bytes: 5120 })).toEqual({ mb: 1, basis: '2048 usable × 0.5 KB' });
    expect(estimateDataSize(undefined, { experiences: 0, bytes: 0 })).toEqual({ mb: 0, basis: '0 forwarded × 1 KB assumed' });
  });
});

describe('parseTriggerRequest', () => {
  it('gives each model type its design priority unless one is named', () => {
    expect(parseTriggerRequest({ model_type: 'voice' })).toEqual({ modelType: 'voice', priority: 3, epochs: null });
    expect(parseTriggerRequest({ model_type: 'embedding' })).toMatchObject({ priority: 0 });
    expect(parseTriggerRequest({ model_type: 'vision', priority: 'critical', epochs: 5 })).toEqual({ modelType: 'vision', priority: 3, epochs: 5 });
    expect(parseTriggerRequest({ model_type: 'nlu', priority: 0 })).toMatchObject({ priority: 0 });
  });

  it('refuses bad fields with a 400 naming them', () => {
    expect(() => parseTriggerRequest({ model_type: 'smell' })).toThrow('unknown model_type "smell"; expected one of voice, nlu, vision, embedding');
    expect(() => parseTriggerRequest({ model_type: 'nlu', priority: 'URGENT' })).toThrow(/priority must be one of CRITICAL, HIGH, NORMAL, LOW/);
    expect(() => parseTriggerRequest({ model_type: 'nlu', epochs: 0 })).toThrow(/^epochs must be an integer 1-10000 for model_type nlu, got 0$/);
    expect(() => parseTriggerRequest({ model_type: 'vision', epochs: 10_001 })).toThrow(
      expect.objectContaining({ statusCode: 400, code: 'TRN_ERR_COORDINATOR_INVALID_REQUEST', extra: { field: 'epochs', allowed: 'an integer 1-10000' } }),
    );
    expect(() => parseTriggerRequest({})).toThrow(/^model_type: /);
    expect(() => parseTriggerRequest([])).toThrow(/body must be a JSON object/);
  });
});

describe('deployBody', () => {
  const policy = { enabled: true, gradualRollout: true, initialPercentage: 10, rolloutSteps: [10, 25, 50, 75, 100], minSamples: 50, monitorDurationSeconds: 300 };
  it('rolls out gradually over ROLLOUT_STEPS with AB_TEST_ENABLED, else deploys at once', () => {
    expect(deployBody(policy, 'nlu', 'v1.2.4', 'd1')).toEqual({
      deployment_id: 'd1',
      model_version: 'v1.2.4',
      model_type: 'nlu',
      strategy: 'gradual_rollout',
      config: { initial_percentage: 10, rollout_steps: [10, 25, 50, 75, 100], rollback_on_error_rate: 0.05, min_samples: 50, monitor_duration_seconds: 300, auto_rollback: true },
    });
    expect(deployBody({ ...policy, enabled: false }, 'nlu', 'v1.2.4', 'd1')).toEqual({ deployment_id: 'd1', model_version: 'v1.2.4', model_type: 'nlu', strategy: 'immediate' });
    expect(deployBody({ ...policy, gradualRollout: false }, 'nlu', 'v1', 'd').strategy).toBe('ab_test');
  });
});
