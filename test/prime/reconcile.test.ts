import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Prime } from '../../src/prime/index.js';
import { getJson, postJson, waitFor } from '../helpers/processes.js';
import { createNluVersions, type NluVersions } from '../serving/helpers.js';
import { FakeModelsReactor } from './fake-reactor.js';

let nlu: NluVersions;
let v1: string;
let v2: string;
const reactor = new FakeModelsReactor();

beforeAll(async () => {
  nlu = await createNluVersions(2);
  [v1, v2] = nlu.versions;
  await reactor.start();
});
afterAll(async () => {
  await reactor.stop();
  nlu?.cleanup();
});

function listing(stable: string | null, canary: string | null, pct: number, digests = nlu.digests) {
  return {
    nlu: { stable, canary, canary_percentage: pct, deployment_id: 'dep-1', versions: nlu.versions.map((v) => ({ version: v, digest: digests[v] })) },
    voice: { stable: null, canary: null, canary_percentage: 0, versions: [] },
  };
}

function createPrime(): Prime {
  const config = parseConfig({
    JARVIS_HOME: nlu.home,
    JARVIS_PRIME_PORT: '0',
    REACTOR_CORE_API_URL: reactor.url,
    PRIME_RECONCILE_INTERVAL: '0.1',
  });
  return new Prime({ config, logger: pino({ level: 'silent' }) });
}

interface Health {
  status: string;
  service: string;
  models: Record<string, { stable: string | null; canary: string | null; canary_percentage: number }>;
  problems?: string[];
}

describe('Prime reconcile', () => {
  it('answers starting (503) until the first reconcile, then serves the split reactor lists', async () => {
    reactor.models = listing(v1, v2, 25);
    reactor.delayMs = 600;
    const prime = createPrime();
    const started = prime.start();
    await waitFor(() => prime.app.server.listening, 5_000, 'prime listening');
    const url = `http://127.0.0.1:${(prime.app.server.address() as { port: number }).port}`;
    const early = await getJson<Health>(`${url}/health`);
    expect(early.status).toBe(503);
    expect(early.body).toMatchObject({ status: 'starting', service: 'j-prime' });
    await started;
    reactor.delayMs = 0;
    const ready = await getJson<Health>(`${url}/health`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'healthy', models: { nlu: { stable: v1, canary: v2, canary_percentage: 25 } } });
    expect(ready.body.models.voice).toBeUndefined();
    await prime.close();
    await prime.close();
  });

  it('converges to new splits, keeps serving while reactor is down (degraded) and recovers when it is back', async () => {
    reactor.models = listing(v1, null, 0);
    const prime = createPrime();
    const port = await prime.start();
    const url = `http://127.0.0.1:${port}`;
    const models = async () => (await getJson<Health>(`${url}/health`)).body;
    expect((await models()).models.nlu).toEqual({ stable: v1, canary: null, canary_percentage: 0 });

    reactor.models = listing(v1, v2, 50);
    await waitFor(async () => (await models()).models.nlu?.canary_percentage === 50, 5_000, 'split 50 %');
    reactor.models = listing(v2, null, 0);
    await waitFor(async () => (await models()).models.nlu?.stable === v2, 5_000, 'promotion');

    await reactor.stop();
    const down = await waitFor(async () => {
      const h = await models();
      return h.status === 'degraded' ? h : null;
    }, 5_000, 'degraded');
    expect(down.problems?.join()).toMatch(/reactor .* unreachable/);
    const served = await postJson<{ model_version: string }>(`${url}/api/predict/nlu`, { input: { text: 'turn on the lights' } });
    expect(served).toMatchObject({ status: 200, body: { model_version: v2 } });

    await reactor.start();
    await waitFor(async () => (await models()).status === 'healthy', 5_000, 'healthy again');
    await prime.close();
  });

  it('leaves a canary whose digest disagrees with reactor out of the table and reports it', async () => {
    reactor.models = listing(v1, v2, 50, { ...nlu.digests, [v2]: 'sha256:0000' });
    const prime = createPrime();
    const port = await prime.start();
    const url = `http://127.0.0.1:${port}`;
    const health = (await getJson<Health>(`${url}/health`)).body;
    expect(health).toMatchObject({ status: 'degraded', models: { nlu: { stable: v1, canary: null, canary_percentage: 0 } } });
    expect(health.problems?.join()).toMatch(new RegExp(`nlu ${v2.replaceAll('.', '\\.')} failed to load .*differs from the registry`));
    for (let i = 0; i < 50; i++) {
      const r = await postJson<{ model_version: string }>(`${url}/api/predict/nlu`, { input: { text: 'play jazz' }, session_id: `s${i}` });
      expect(r.body.model_version).toBe(v1);
    }
    reactor.models = listing(v1, null, 0);
    await prime.close();
  });

  it('keeps an operator reload until reactor changes its split, then follows reactor again', async () => {
    reactor.models = listing(v1, null, 0);
    const prime = createPrime();
    const port = await prime.start();
    const url = `http://127.0.0.1:${port}`;
    const reload = await postJson(`${url}/api/v1/models/reload`, { model_type: 'nlu', model_version: v2 });
    expect(reload).toMatchObject({ status: 200, body: { stable: v2, canary: null } });
    const reads = reactor.reads;
    await waitFor(() => reactor.reads >= reads + 3, 5_000, 'three reconcile passes');
    expect(prime.server.split('nlu')).toMatchObject({ stable: v2 });
    expect((await getJson(`${url}/api/v1/models`)).body).toMatchObject({ pinned_by_reload: [{ model_type: 'nlu', version: v2 }] });

    reactor.models = listing(v1, v2, 10);
    await waitFor(() => prime.server.split('nlu')?.canaryPercentage === 10, 5_000, 'reactor split after the pin');
    expect(prime.server.split('nlu')).toMatchObject({ stable: v1, canary: v2 });
    expect(prime.server.pinned()).toEqual([]);
    await prime.close();
  });

  it('restores its split from reactor when restarted', async () => {
    reactor.models = listing(v1, v2, 10);
    const first = createPrime();
    await first.start();
    const before = first.server.split('nlu');
    const instance = first.server.instanceId;
    await first.close();
    const second = createPrime();
    await second.start();
    expect(second.server.split('nlu')).toMatchObject({ stable: v1, canary: v2, canaryPercentage: 10, deploymentId: 'dep-1' });
    expect(before).toMatchObject({ stable: v1, canary: v2, canaryPercentage: 10 });
    expect(second.server.instanceId).not.toBe(instance);
    await second.close();
  });
});
