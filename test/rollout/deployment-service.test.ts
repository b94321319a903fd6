import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeStores, type Fresh } from '../store/harness.js';
import { createServiceFixture, waitFor, type ServiceFixture, type ServiceFixtureOptions } from './service-fixture.js';

let fx: ServiceFixture;

interface Wire {
  status: string;
  current_percentage: number;
  step: { index: number };
  versions: Record<string, { role: string; samples: number; errors: number; error_rate: number }>;
  decisions: Array<{ id: number; event: string; reason: string; message: string; current_percentage: number; error_rate?: number; samples?: number }>;
}

const post = (url: string, payload: unknown = {}) => fx.app.inject({ method: 'POST', url, payload: payload as object });
const get = async (id: string) => (await fx.app.inject({ method: 'GET', url: `/api/models/deployments/${id}` })).json<Wire>();
const deploy = async (body: Record<string, unknown>) => {
  const res = await post('/api/models/deploy', { model_type: 'nlu', ...body });
  return { res, id: res.json<{ deployment_id: string }>().deployment_id };
};
const fast = { monitor_duration_seconds: 0.05, min_samples: 20 };

/** Feeds good outcomes to both versions until the deployment ends (or the test times out). */
async function feedUntilDone(id: string, ok = 10, bad = 0): Promise<Wire> {
  return waitFor(async () => {
    fx.fake.add('nlu', 'v1.0.1', ok, bad);
    fx.fake.add('nlu', 'v1.0.0', ok, 0);
    const w = await get(id);
    return w.status !== 'deploying' && w.status !== 'paused' ? w : null;
  }, 10_000, 'the rollout to end');
}

describeStores('DeploymentService', (fresh, dialect) => {
  /** SQLite: the fixture's own file. Postgres: the harness's schema, a new pool at each open (a restart). */
  const opener = async (): Promise<ServiceFixtureOptions['open']> => {
    if (dialect === 'sqlite') return undefined;
    const f: Fresh = await fresh();
    let first: Fresh['db'] | null = f.db;
    return async () => {
      const db = first ?? (await f.another());
      first = null;
      return db;
    };
  };
  beforeEach(async () => {
    fx = await createServiceFixture({ open: await opener() });
  });
  afterEach(async () => {
    await fx.close();
  });

  describe('DeploymentService', () => {
    it('walks a gradual rollout to 100 % with good outcomes, pushing every split to prime and showing deployment_id meanwhile', async () => {
      const { res, id } = await deploy({ model_version: 'v1.0.1', strategy: 'gradual_rollout', config: { ...fast, rollout_steps: [10, 50, 100] } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ deployment_id: id, model_version: 'v1.0.1', status: 'deploying', current_percentage: 10 });
      expect(res.json().message).toMatch(/^deploying v1\.0\.1 \(gradual_rollout\)/);
      const models = (await fx.app.inject({ method: 'GET', url: '/api/models' })).json();
      expect(models.models.nlu).toMatchObject({ stable: 'v1.0.0', canary: 'v1.0.1', canary_percentage: 10, deployment_id: id });
      expect(models.models.voice.deployment_id).toBeNull();

      const end = await feedUntilDone(id);
      expect(end.status).toBe('completed');
      expect(end.current_percentage).toBe(100);
      expect(end.decisions.filter((d) => d.event !== 'waiting').map((d) => [d.event, d.reason, d.current_percentage])).toEqual([
        ['started', 'DeploymentStarted', 10],
        ['advanced', 'StepAdvanced', 50],
        ['completed', 'RolloutCompleted', 100],
      ]);
      await waitFor(() => fx.fake.lastSplit('nlu')?.stable === 'v1.0.1', 2_000, 'the final split');
      // Every change is pushed; a push still in flight when the next change comes is followed by the newest split only.
      const pushed = fx.fake.splits.map((s) => [s.stable, s.canary, s.canary_percentage]);
      expect(pushed[0]).toEqual(['v1.0.0', 'v1.0.1', 10]);
      expect(pushed.at(-1)).toEqual(['v1.0.1', null, 0]);
      expect(pushed.slice(1, -1).every((p) => p[2] === 50)).toBe(true);
      expect(fx.fake.splits[0].deployment_id).toBe(id);
      const after = (await fx.app.inject({ method: 'GET', url: '/api/models/nlu' })).json();
      expect(after).toMatchObject({ stable: 'v1.0.1', canary: null, canary_percentage: 0, deployment_id: null });
    });

    it('rolls a failing canary back within a tick, stating the measured error rate and sample count', async () => {
      const { id } = await deploy({ model_version: 'v1.0.1', strategy: 'canary', config: { initial_percentage: 25, min_samples: 40, monitor_duration_seconds: 60 } });
      fx.fake.add('nlu', 'v1.0.1', 30, 10);
      const end = await waitFor(async () => {
        const w = await get(id);
        return w.status === 'rolled_back' ? w : null;
      }, 2_000, 'the rollback');
      expect(end.current_percentage).toBe(0);
      expect(end.versions['v1.0.1']).toMatchObject({ role: 'canary', samples: 40, errors: 10, error_rate: 0.25 });
      const decision = end.decisions.at(-1)!;
      expect(decision).toMatchObject({ event: 'rolled_back', reason: 'ErrorRateExceeded', error_rate: 0.25, samples: 40, current_percentage: 0 });
      expect(decision.message).toBe('rollback: error rate 0.25 > 0.05 over 40 outcomes');
      await waitFor(() => fx.fake.lastSplit('nlu')?.canary === null, 2_000, 'the rollback split');
      expect(fx.fake.lastSplit('nlu')).toMatchObject({ stable: 'v1.0.0', canary: null, canary_percentage: 0 });

      const ndjson = await fx.app.inject({ method: 'GET', url: `/api/models/deployments/${id}/stream` });
      const lines = ndjson.body.trim().split('\n').map((l) => JSON.parse(l) as { event: string; id: number });
      expect(lines[0]).toMatchObject({ event: 'started', id: 1 });
      expect(lines.at(-1)).toMatchObject({ event: 'rolled_back', reason: 'ErrorRateExceeded' });
      const sse = await fx.app.inject({ method: 'GET', url: `/api/models/deployments/${id}/stream`, headers: { accept: 'text/event-stream', 'last-event-id': '1' } });
      expect(sse.headers['content-type']).toMatch(/text\/event-stream/);
      expect(sse.body).not.toMatch(/event: started/);
      expect(sse.body).toMatch(/event: rolled_back\ndata: \{.*"error_rate":0\.25/);
    });

    it('answers 409 with the active id for a second deploy of the same type, 404 for an unknown version', async () => {
      const { id } = await deploy({ model_version: 'v1.0.1', config: fast });
      const second = await deploy({ model_version: 'v1.0.2', force: true });
      expect(second.res.statusCode).toBe(409);
      expect(second.res.json()).toMatchObject({ code: 'TRN_ERR_DEPLOY_ACTIVE', active_deployment_id: id });
      const unknown = await deploy({ model_version: 'v9.9.9' });
      expect(unknown.res.statusCode).toBe(404);
      expect(unknown.res.json().code).toBe('TRN_ERR_MODEL_NOT_FOUND');
      const bad = await post('/api/models/deploy', { model_type: 'nlu', model_version: 'v1.0.1', config: { min_samples: 0 } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'TRN_ERR_DEPLOY_INVALID_REQUEST', error: expect.stringMatching(/^config\.min_samples: /) });
    });

    it('refuses a version clearly less accurate than stable with both numbers, and deploys it with force', async () => {
      const refused = await deploy({ model_version: 'v1.0.2' });
      expect(refused.res.statusCode).toBe(422);
      expect(refused.res.json()).toMatchObject({
        code: 'TRN_ERR_DEPLOY_ACCURACY_GATE',
        candidate_val_accuracy: 0.8,
        stable_val_accuracy: 0.88,
        max_drop: 0.02,
        compared_on: 'own validation splits',
      });
      expect(refused.res.json().error).toMatch(/v1\.0\.2 has accuracy 0\.8, more than 0\.02 below stable v1\.0\.0 \(0\.88\), compared on own validation splits; send force: true/);
      const forced = await deploy({ model_version: 'v1.0.2', force: true });
      expect(forced.res.statusCode).toBe(200);
      expect(forced.res.json().message).toMatch(/forced past the accuracy gate/);
    });

    it('resumes a rollout at its step after a restart of the service, and keeps counting outcomes across a prime restart', async () => {
      const { id } = await deploy({ model_version: 'v1.0.1', config: { ...fast, rollout_steps: [10, 50, 75, 100] } });
      // Exactly one step's worth: nothing more arrives, so the rollout cannot move past 50 % before the restart.
      fx.fake.add('nlu', 'v1.0.1', 20, 0);
      await waitFor(async () => (await get(id)).current_percentage === 50, 5_000, 'step 50');
      const pushedBefore = fx.fake.splits.length;
      await fx.reopen();
      const resumed = await get(id);
      expect(resumed).toMatchObject({ status: 'deploying', current_percentage: 50, step: { index: 1 } });
      // The new service tells prime where the rollout stands before anything else happens.
      await waitFor(() => fx.fake.splits.length > pushedBefore, 2_000, 'the split after restart');
      expect(fx.fake.splits.at(-1)).toMatchObject({ canary: 'v1.0.1', canary_percentage: 50, deployment_id: id });

      fx.fake.restart();
      const end = await feedUntilDone(id);
      expect(end.status).toBe('completed');
      const steps = end.decisions.filter((d) => d.event === 'started' || d.event === 'advanced' || d.event === 'completed').map((d) => d.current_percentage);
      expect(steps).toEqual([10, 50, 75, 100]);
    });

    it('runs operator commands idempotently, 409 when a finished deployment cannot do them, 404 for unknown ids', async () => {
      const { id } = await deploy({ model_version: 'v1.0.1', config: { ...fast, min_samples: 1000 } });
      const paused = await post(`/api/models/deployments/${id}/pause`);
      expect(paused.statusCode).toBe(200);
      expect(paused.json()).toMatchObject({ status: 'paused', current_percentage: 10 });
      const again = await post(`/api/models/deployments/${id}/pause`);
      expect(again.json().decisions).toHaveLength(paused.json().decisions.length);
      expect((await post(`/api/models/deployments/${id}/resume`)).json().status).toBe('deploying');
      expect((await post(`/api/models/deployments/${id}/abort`)).json()).toMatchObject({ status: 'aborted', current_percentage: 0 });
      expect((await post(`/api/models/deployments/${id}/abort`)).statusCode).toBe(200);
      const promote = await post(`/api/models/deployments/${id}/promote`);
      expect(promote.statusCode).toBe(409);
      expect(promote.json()).toMatchObject({ code: 'TRN_ERR_DEPLOY_FINISHED', status: 'aborted' });
      expect((await post('/api/models/deployments/nope/pause')).statusCode).toBe(404);
      expect((await post(`/api/models/deployments/${id}/explode`)).statusCode).toBe(400);
      const reasons = (await get(id)).decisions.map((d) => d.reason);
      expect(reasons.filter((r) => r.startsWith('Operator'))).toEqual(['OperatorPaused', 'OperatorResumed', 'OperatorAborted']);
    });

    it('rolls back to the stable before the current one, and ends an active deployment when rolling back during it', async () => {
      const { id } = await deploy({ model_version: 'v1.0.1', strategy: 'immediate' });
      await waitFor(async () => (await get(id)).status === 'completed', 2_000, 'immediate');
      const rb = await post('/api/models/rollback', { model_type: 'nlu' });
      expect(rb.statusCode).toBe(200);
      expect(rb.json()).toMatchObject({ model_type: 'nlu', rolled_back_to: 'v1.0.0', previous_stable: 'v1.0.1', aborted_deployment_id: null });
      await waitFor(() => fx.fake.lastSplit('nlu')?.stable === 'v1.0.0', 2_000, 'rollback split');

      const second = await deploy({ model_version: 'v1.0.1', config: fast });
      const during = await post('/api/models/rollback', { model_type: 'nlu' });
      expect(during.json()).toMatchObject({ rolled_back_to: 'v1.0.0', aborted_deployment_id: second.id });
      const ended = await get(second.id);
      expect(ended.status).toBe('rolled_back');
      expect(ended.decisions.at(-1)).toMatchObject({ reason: 'OperatorRollback' });
      expect((await post('/api/models/rollback', { model_type: 'nlu', previous_version: 'v7.0.0' })).statusCode).toBe(404);
    });

    it('keeps deciding while prime is down and pushes the split once it is back; a canary prime cannot load is rolled back', async () => {
      fx.fake.down = true;
      const { id } = await deploy({ model_version: 'v1.0.1', config: fast });
      await new Promise((r) => setTimeout(r, 100));
      expect(fx.fake.splits).toHaveLength(0);
      expect((await get(id)).status).toBe('deploying');
      fx.fake.down = false;
      await waitFor(() => fx.fake.lastSplit('nlu')?.canary === 'v1.0.1', 2_000, 'the split after prime came back');
      await post(`/api/models/deployments/${id}/abort`);

      fx.fake.refuse.add('v1.0.2');
      const refused = await deploy({ model_version: 'v1.0.2', force: true, config: fast });
      const end = await waitFor(async () => {
        const w = await get(refused.id);
        return w.status === 'rolled_back' ? w : null;
      }, 2_000, 'the load failure rollback');
      expect(end.decisions.at(-1)).toMatchObject({ reason: 'CanaryLoadFailed', message: expect.stringMatching(/prime could not load v1\.0\.2: .*v1\.0\.2 threw/) });
    });

    it('acts only while leading: a follower serves and writes commands but its loop decides nothing until lead()', async () => {
      const { id } = await deploy({ model_version: 'v1.0.1', strategy: 'gradual_rollout', config: { ...fast, rollout_steps: [10, 50, 100] } });
      await fx.service.follow();
      expect(fx.service.leading).toBe(false);
      for (let i = 0; i < 10; i++) {
        fx.fake.add('nlu', 'v1.0.1', 10, 0);
        await new Promise((r) => setTimeout(r, 30));
      }
      // Enough samples and time for two steps, yet no tick ran.
      expect(await get(id)).toMatchObject({ status: 'deploying', current_percentage: 10 });
      // Commands still work on a follower: written at once, not waiting for a loop.
      expect((await post(`/api/models/deployments/${id}/pause`)).statusCode).toBe(200);
      expect((await post(`/api/models/deployments/${id}/resume`)).statusCode).toBe(200);
      await fx.service.lead();
      const end = await feedUntilDone(id);
      expect(end.status).toBe('completed');
      expect(end.decisions.filter((d) => d.reason === 'StepAdvanced').map((d) => d.current_percentage)).toEqual([50]);
    });
  });

  describe('DeploymentService that lost its lease', () => {
    it('writes nothing in a tick while its lease check says no, and carries on from the stored step once it holds again', async () => {
      let holds = true;
      const own = await createServiceFixture({ leading: () => holds, open: await opener() });
      try {
        const res = await own.app.inject({ method: 'POST', url: '/api/models/deploy', payload: { model_type: 'nlu', model_version: 'v1.0.1', strategy: 'gradual_rollout', config: { ...fast, rollout_steps: [10, 50, 100] } } });
        const id = res.json<{ deployment_id: string }>().deployment_id;
        holds = false;
        for (let i = 0; i < 10; i++) {
          own.fake.add('nlu', 'v1.0.1', 10, 0);
          await own.service.tick();
          await new Promise((r) => setTimeout(r, 20));
        }
        const held = (await own.app.inject({ method: 'GET', url: `/api/models/deployments/${id}` })).json<Wire>();
        expect(held).toMatchObject({ status: 'deploying', current_percentage: 10 });
        // Counts are not accumulated either: the outcomes are the next holder's to count.
        expect(held.versions['v1.0.1']?.samples ?? 0).toBe(0);
        holds = true;
        const end = await waitFor(async () => {
          own.fake.add('nlu', 'v1.0.1', 10, 0);
          const w = (await own.app.inject({ method: 'GET', url: `/api/models/deployments/${id}` })).json<Wire>();
          return w.status === 'completed' ? w : null;
        }, 10_000, 'the rollout to end');
        expect(end.decisions.filter((d) => d.reason === 'StepAdvanced').map((d) => d.current_percentage)).toEqual([50]);
      } finally {
        await own.close();
      }
    });
  });
});
