import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startService, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { createNluVersions, type NluVersions } from '../serving/helpers.js';
import { FakeModelsReactor } from './fake-reactor.js';

let nlu: NluVersions;
const reactor = new FakeModelsReactor();
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  nlu = await createNluVersions(2);
  await reactor.start();
});
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await reactor.stop();
  nlu?.cleanup();
});

describe('trinity prime (process)', () => {
  it('serves reactor split, reports resources, metrics and its state file, and restores the split after a SIGKILL', async () => {
    const [v1, v2] = nlu.versions;
    reactor.models = {
      nlu: { stable: v1, canary: v2, canary_percentage: 25, deployment_id: 'dep-9', versions: nlu.versions.map((v) => ({ version: v, digest: nlu.digests[v] })) },
    };
    const env = { REACTOR_CORE_API_URL: reactor.url, PRIME_RECONCILE_INTERVAL: '0.2', STATE_FILE_INTERVAL: '0.3' };
    let prime = await startService('prime', nlu.home, env);
    procs.push(prime);
    const health = await getJson(`${prime.url}/health`);
    expect(health.body).toMatchObject({ status: 'healthy', service: 'j-prime', models: { nlu: { stable: v1, canary: v2, canary_percentage: 25 } }, active_requests: 0 });
    expect((health.body as { memory_usage_gb: number }).memory_usage_gb).toBeGreaterThan(0);

    const p = await postJson<{ prediction_id: string; model_version: string; intent: string }>(`${prime.url}/api/predict/nlu`, { input: { text: 'book a table for two' }, session_id: 'alice' });
    expect(p.status).toBe(200);
    expect([v1, v2]).toContain(p.body.model_version);
    const resources = await getJson(`${prime.url}/api/resources`);
    expect(resources.body).toMatchObject({ active_requests: 0, requests_last_minute: 1, cpu_percent: expect.any(Number), memory_total_gb: expect.any(Number) });
    const metrics = await (await fetch(`${prime.url}/metrics`)).text();
    expect(metrics).toContain(`trinity_prime_predictions_total{model_type="nlu",model_version="${p.body.model_version}",outcome="ok"} 1`);
    expect(metrics).toMatch(/trinity_prime_prediction_seconds_bucket/);

    const stateFile = join(nlu.home, 'cross_repo/prime_state.json');
    const first = await waitFor(() => {
      try {
        return JSON.parse(readFileSync(stateFile, 'utf8')) as { status: string; last_heartbeat: number };
      } catch {
        return null;
      }
    }, 5_000, 'prime_state.json');
    expect(first).toMatchObject({ memory_usage_gb: expect.any(Number), cpu_percent: expect.any(Number), active_requests: 0, last_heartbeat: expect.any(Number) });
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    await waitFor(() => (JSON.parse(readFileSync(stateFile, 'utf8')) as { last_heartbeat: number }).last_heartbeat > first.last_heartbeat, 5_000, 'a newer heartbeat');

    await prime.kill('SIGKILL');
    prime = await startService('prime', nlu.home, env);
    procs.push(prime);
    expect((await getJson(`${prime.url}/health`)).body).toMatchObject({ status: 'healthy', models: { nlu: { stable: v1, canary: v2, canary_percentage: 25 } } });
    const again = await postJson<{ model_version: string }>(`${prime.url}/api/predict/nlu`, { input: { text: 'book a table for two' }, session_id: 'alice' });
    expect(again.body.model_version).toBe(p.body.model_version);
    expect(await prime.kill('SIGTERM')).toBe(0);

    // Reactor down when prime restarts: the previous run's stable version serves (its canary does not,
    // with no rollout watching it), health says why it is degraded, and reactor's split wins once it is back.
    await reactor.stop();
    prime = await startService('prime', nlu.home, env);
    procs.push(prime);
    const degraded = await getJson<{ status: string; models: unknown; problems: string[] }>(`${prime.url}/health`);
    expect(degraded.body).toMatchObject({ status: 'degraded', models: { nlu: { stable: v1, canary: null, canary_percentage: 0 } } });
    expect(degraded.body.problems.join(' ')).toMatch(/reactor .* unreachable/);
    for (const session of ['alice', 'bob', 'carol']) {
      const r = await postJson<{ model_version: string }>(`${prime.url}/api/predict/nlu`, { input: { text: 'play some jazz' }, session_id: session });
      expect(r.status).toBe(200);
      expect(r.body.model_version).toBe(v1);
    }
    reactor.models = { nlu: { stable: v2, canary: null, canary_percentage: 0, deployment_id: null, versions: nlu.versions.map((v) => ({ version: v, digest: nlu.digests[v] })) } };
    await reactor.start();
    await waitFor(async () => {
      const h = await getJson<{ status: string; models: { nlu?: { stable: string } } }>(`${prime.url}/health`);
      return h.body.status === 'healthy' && h.body.models.nlu?.stable === v2 ? h : null;
    }, 10_000, "reactor's split after it came back");
    expect(await prime.kill('SIGTERM')).toBe(0);
  }, 60_000);
});
