/**
 * A prime SIGKILLed while a version is deployed and started again must never tell a client "nothing is
 * deployed": while it loads what reactor says it serves, predictions answer 503 with Retry-After, and from
 * the moment its health says ready every prediction is served. Real `trinity reactor` and `trinity prime`
 * processes; predictions are sent back to back from before the new prime listens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, getJson, postJson, spawnService, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

interface Answer {
  status: number;
  retryAfter: string | null;
  code: string | null;
  /** Whether prime's health had answered 200 before this request was sent. */
  afterReady: boolean;
}

describe('prime restarted while a version is deployed', () => {
  let home: string;
  let primePort: number;
  let reactor: ServiceProcess;
  let prime: ServiceProcess;
  const all: ServiceProcess[] = [];
  const primeEnv = () => ({ PORT: String(primePort), REACTOR_CORE_API_URL: reactor.url, PRIME_RECONCILE_INTERVAL: '0.5' });

  beforeAll(async () => {
    home = tempHome();
    primePort = await freePort();
    reactor = await startService('reactor', home, { JARVIS_PRIME_PORT: String(primePort) });
    all.push(reactor);
    prime = await startService('prime', home, primeEnv());
    all.push(prime);
  }, 60_000);
  afterAll(async () => {
    for (const p of all) await p.kill('SIGKILL');
  });

  it('answers 503 + Retry-After until it is ready, and serves every prediction from then on', async () => {
    const exps = snipsExperiences(readSnips('train').filter((_, i) => i % 8 === 0));
    expect((await postJson(`${reactor.url}/api/training/start`, { job_id: 'first', model_type: 'nlu', experiences: exps, epochs: 2 })).status).toBe(200);
    const version = await waitFor(async () => {
      const { body } = await getJson<{ status: string; model_version: string }>(`${reactor.url}/api/training/status/first`);
      if (body.status === 'failed') throw new Error('training failed');
      return body.status === 'completed' ? body.model_version : null;
    }, 120_000, 'the first version trained');
    // The first version of a type becomes stable; prime picks it up on its next reconcile.
    await waitFor(async () => (await getJson<{ models: { nlu?: { stable: string } } }>(`${prime.url}/health`)).body.models.nlu?.stable === version, 15_000, 'prime to serve it');

    await prime.kill('SIGKILL');
    const url = `http://127.0.0.1:${primePort}`;
    const restarted = spawnService('prime', home, primeEnv());
    all.push({ ...restarted, url, port: primePort });
    const out = restarted.output;
    let ready = false;
    const health = (async () => {
      await waitFor(async () => (await fetch(`${url}/health`).catch(() => null))?.status === 200, 30_000, 'the restarted prime healthy', 5);
      ready = true;
    })();
    // A few clients back to back, so the short window between listening and ready is hit for sure.
    const answers: Answer[] = [];
    let servedAfterReady = 0;
    const client = async (c: number) => {
      for (let i = 0; servedAfterReady < 200; i++) {
        if (i > 50_000) throw new Error(`prime never served 200 predictions after its restart:\n${out()}`);
        const afterReady = ready;
        const res = await fetch(`${url}/api/predict/nlu`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { text: 'play some jazz' }, session_id: `c${c}-${i % 20}` }) }).catch(() => null);
        if (res === null) continue; // not listening yet
        const body = (await res.json()) as { code?: string };
        answers.push({ status: res.status, retryAfter: res.headers.get('retry-after'), code: body.code ?? null, afterReady });
        if (afterReady && res.status === 200) servedAfterReady++;
      }
    };
    await Promise.all([0, 1, 2, 3].map(client));
    await health;

    const whileStarting = answers.filter((a) => !a.afterReady);
    // The restart window was really exercised: prime listened and answered before it was ready.
    expect(whileStarting.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 503 && a.retryAfter === null)).toEqual([]);
    expect(whileStarting.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
    expect(answers.filter((a) => a.afterReady && a.status !== 200)).toEqual([]);
    expect(whileStarting.find((a) => a.status === 503)).toMatchObject({ code: 'TRN_ERR_HTTP_NOT_READY', retryAfter: '1' });
  }, 240_000);
});
