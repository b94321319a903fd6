/**
 * Issue 4 end to end: real `trinity reactor` and `trinity prime` processes, three trained nlu versions,
 * sticky traffic split, restarts of either side mid-rollout, a rollout that completes on good feedback,
 * one that rolls back on bad feedback, and a hot swap under load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

const rows = readSnips('train');
const test = readSnips('test');

interface Prediction {
  prediction_id: string;
  model_version: string;
  intent: string;
}
interface Deployment {
  status: string;
  current_percentage: number;
  decisions: { reason: string; message: string; error_rate?: number; samples?: number }[];
}

describe('J-Prime rollouts with real processes', () => {
  let home: string;
  let primePort: number;
  let reactor: ServiceProcess;
  let prime: ServiceProcess;
  const all: ServiceProcess[] = [];

  const reactorEnv = () => ({ JARVIS_PRIME_PORT: String(primePort), DEPLOYMENT_TICK_MS: '200' });
  const startReactor = async () => (reactor = track(await startService('reactor', home, reactorEnv())));
  const startPrime = async () => (prime = track(await startService('prime', home, { PORT: String(primePort), REACTOR_CORE_API_URL: reactor.url, PRIME_RECONCILE_INTERVAL: '0.5' })));
  const track = (p: ServiceProcess) => (all.push(p), p);

  const predict = async (sessionId?: string, i = 0) => {
    const r = await postJson<Prediction>(`${prime.url}/api/predict/nlu`, { input: { text: test[i % test.length].text }, ...(sessionId ? { session_id: sessionId } : {}) });
    expect(r.status).toBe(200);
    return r.body;
  };
  const feedback = (id: string, success: boolean) => postJson(`${prime.url}/api/feedback`, { prediction_id: id, success });
  const deployment = async (id: string) => (await getJson<Deployment>(`${reactor.url}/api/models/deployments/${id}`)).body;
  const splitOf = async () => (await getJson<{ models: Record<string, { stable: string | null; canary: string | null; canary_percentage: number }> }>(`${prime.url}/health`)).body.models.nlu;

  async function train(jobId: string, seed: number): Promise<string> {
    const exps = snipsExperiences(rows.filter((_, i) => i % 4 === seed % 4), `s${seed}`);
    expect((await postJson(`${reactor.url}/api/training/start`, { job_id: jobId, model_type: 'nlu', experiences: exps, epochs: 2, config: { seed } })).status).toBe(200);
    return waitFor(async () => {
      const { body } = await getJson<{ status: string; model_version: string }>(`${reactor.url}/api/training/status/${jobId}`);
      if (body.status === 'failed') throw new Error(`${jobId} failed`);
      return body.status === 'completed' ? body.model_version : null;
    }, 120_000, `${jobId} trained`);
  }

  beforeAll(async () => {
    home = tempHome();
    primePort = await freePort();
    await startReactor();
    await startPrime();
  }, 60_000);
  afterAll(async () => {
    for (const p of all) await p.kill('SIGKILL');
  });

  it('trains three versions; the first becomes stable and prime serves it', async () => {
    expect(await train('v-a', 1)).toBe('v1.0.0');
    expect(await train('v-b', 2)).toBe('v1.0.1');
    expect(await train('v-c', 3)).toBe('v1.0.2');
    await waitFor(async () => (await splitOf())?.stable === 'v1.0.0', 15_000, 'prime to load v1.0.0');
    const p = await predict();
    expect(p.model_version).toBe('v1.0.0');
    expect(typeof p.intent).toBe('string');
  }, 400_000);

  it('keeps every session on one version while a 25 % split holds, also across restarts of prime and reactor', async () => {
    const dep = await postJson<{ deployment_id: string }>(`${reactor.url}/api/models/deploy`, {
      model_type: 'nlu', model_version: 'v1.0.1', strategy: 'canary', force: true,
      config: { initial_percentage: 25, monitor_duration_seconds: 3600, min_samples: 100000 },
    });
    expect(dep.status).toBe(200);
    const id = dep.body.deployment_id;
    const second = await postJson<{ active_deployment_id: string }>(`${reactor.url}/api/models/deploy`, { model_type: 'nlu', model_version: 'v1.0.2', force: true });
    expect(second.status).toBe(409);
    expect(second.body.active_deployment_id).toBe(id);
    await waitFor(async () => (await splitOf())?.canary_percentage === 25, 15_000, 'prime to take the split');

    const seen = new Map<string, Set<string>>();
    let canary = 0;
    for (let i = 0; i < 1000; i++) {
      const session = `session-${i % 100}`;
      const p = await predict(session, i);
      (seen.get(session) ?? seen.set(session, new Set()).get(session)!).add(p.model_version);
      if (p.model_version === 'v1.0.1') canary++;
    }
    expect([...seen.values()].every((v) => v.size === 1)).toBe(true);
    expect(Math.abs(canary / 1000 - 0.25)).toBeLessThanOrEqual(0.05);
    const assignment = new Map([...seen].map(([s, v]) => [s, [...v][0]]));

    await prime.kill('SIGTERM');
    await startPrime();
    await waitFor(async () => (await splitOf())?.canary_percentage === 25, 15_000, 'restarted prime to restore the split');
    for (let i = 0; i < 100; i += 7) expect((await predict(`session-${i}`)).model_version).toBe(assignment.get(`session-${i}`));

    await reactor.kill('SIGKILL');
    await startReactor();
    const after = await deployment(id);
    expect(after).toMatchObject({ status: 'deploying', current_percentage: 25 });
    expect((await postJson(`${reactor.url}/api/models/deployments/${id}/abort`, {})).status).toBe(200);
    await waitFor(async () => (await splitOf())?.canary === null, 15_000, 'the canary gone after abort');
  }, 240_000);

  it('completes a gradual rollout on good feedback: the canary becomes stable', async () => {
    const dep = await postJson<{ deployment_id: string }>(`${reactor.url}/api/models/deploy`, {
      model_type: 'nlu', model_version: 'v1.0.1', strategy: 'gradual_rollout', force: true,
      config: { rollout_steps: [10, 50, 100], monitor_duration_seconds: 1, min_samples: 20, rollback_on_error_rate: 0.05 },
    });
    const id = dep.body.deployment_id;
    let i = 0;
    const end = await waitFor(async () => {
      for (let k = 0; k < 40; k++) {
        const p = await predict(`g-${i}`, i++);
        await feedback(p.prediction_id, true);
      }
      const d = await deployment(id);
      return ['completed', 'rolled_back', 'aborted'].includes(d.status) ? d : null;
    }, 120_000, 'the rollout to end', 0);
    expect(end.status).toBe('completed');
    expect(end.current_percentage).toBe(100);
    await waitFor(async () => (await splitOf())?.stable === 'v1.0.1', 15_000, 'prime to serve v1.0.1 as stable');
  }, 180_000);

  it('rolls a canary with failing feedback back on its own and then never serves it; the decision gives the rate and count', async () => {
    const dep = await postJson<{ deployment_id: string }>(`${reactor.url}/api/models/deploy`, {
      model_type: 'nlu', model_version: 'v1.0.2', strategy: 'gradual_rollout', force: true,
      config: { rollout_steps: [50, 100], monitor_duration_seconds: 1, min_samples: 20, rollback_on_error_rate: 0.05 },
    });
    const id = dep.body.deployment_id;
    let i = 0;
    const end = await waitFor(async () => {
      for (let k = 0; k < 20; k++) {
        const p = await predict(`b-${i}`, i++);
        await feedback(p.prediction_id, p.model_version !== 'v1.0.2');
      }
      const d = await deployment(id);
      return ['completed', 'rolled_back', 'aborted'].includes(d.status) ? d : null;
    }, 120_000, 'the rollout to end', 0);
    expect(end.status).toBe('rolled_back');
    const decision = end.decisions.find((d) => d.reason === 'ErrorRateExceeded')!;
    expect(decision.error_rate).toBeGreaterThan(0.05);
    expect(decision.samples).toBeGreaterThan(0);
    expect(decision.message).toMatch(/error rate [\d.]+ > 0\.05 over \d+/);
    await waitFor(async () => (await splitOf())?.canary === null, 10_000, 'prime to drop the canary');
    for (let k = 0; k < 100; k++) expect((await predict(`after-${k}`, k)).model_version).not.toBe('v1.0.2');
  }, 180_000);

  it('hot-swaps under steady load without losing or failing a request', async () => {
    let stop = false;
    const statuses: number[] = [];
    const versions = new Set<string>();
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const r = await fetch(`${prime.url}/api/predict/nlu`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { text: test[(i + w) % test.length].text } }) });
        statuses.push(r.status);
        versions.add(((await r.json()) as Prediction).model_version);
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    await new Promise((r) => setTimeout(r, 300));
    for (const v of ['v1.0.0', 'v1.0.2', 'v1.0.1']) {
      const r = await postJson(`${prime.url}/api/v1/models/reload`, { model_type: 'nlu', model_version: v });
      expect(r.status).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
    }
    stop = true;
    await load;
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(versions).toEqual(new Set(['v1.0.0', 'v1.0.1', 'v1.0.2']));
  }, 60_000);
});
