import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { FAST_JARVIS_ENV, FakePrime } from './fakes.js';

interface Holder {
  holder: string;
  token: number;
  job_id: string | null;
  expires_in_seconds: number;
}

const TTL_SECONDS = 3;

const lockOf = async (url: string) => (await getJson<{ lock: { holders: Holder[] } }>(`${url}/health`)).body.lock.holders;

describe('training_slot lease', () => {
  const procs: ServiceProcess[] = [];
  const prime = new FakePrime();
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    await prime.close();
  });

  it('frees the lock of a SIGKILLed holder on another host after its TTL; the next grant has a larger token and reactor refuses the stale one', async () => {
    await prime.start();
    prime.activeRequests = 1;
    const home = tempHome('trinity-jarvis-lease-');
    const reactor = await startService('reactor', home, { LOG_LEVEL: 'warn' });
    procs.push(reactor);
    const posted = await postJson<{ accepted: number }>(`${reactor.url}/api/experiences`, { experiences: snipsExperiences(readSnips('train').filter((_, i) => i % 40 === 0)) });
    expect(posted.body.accepted).toBeGreaterThan(100);

    const env = { ...FAST_JARVIS_ENV, REACTOR_CORE_API_URL: reactor.url, JARVIS_PRIME_ENABLED: 'true', JARVIS_PRIME_URL: prime.url, TRAINING_LOCK_TTL: String(TTL_SECONDS) };
    const first = await startService('jarvis', home, env);
    procs.push(first);
    const { body: job } = await postJson<{ job_id: string }>(`${first.url}/api/training/trigger`, { model_type: 'nlu', epochs: 3 });
    // The holder waits for J-Prime while holding the lease, renewing it.
    const [held] = await waitFor(async () => {
      const h = await lockOf(first.url);
      return h.length === 1 && h[0].job_id === job.job_id ? h : null;
    }, 10_000, 'first holder');
    await new Promise((r) => setTimeout(r, TTL_SECONDS * 1000 * 0.6));
    const renewed = (await lockOf(first.url))[0];
    expect(renewed.token).toBe(held.token);
    expect(renewed.expires_in_seconds).toBeGreaterThan(TTL_SECONDS * 0.5);

    await first.kill('SIGKILL');
    const killedAt = Date.now();
    // As if it had run on another machine sharing the database: from here it may be alive, so only its
    // TTL frees the slot (a holder on this host that died loses it at once: holder-died.test.ts).
    const db = openDatabase({ path: join(home, 'trinity.db') });
    expect(db.prepare("UPDATE coordinator_leases SET owner_host = 'another-host' WHERE holder = ?").run(held.holder).changes).toBe(1);
    db.close();
    const expiresAt = killedAt + renewed.expires_in_seconds * 1000;
    const second = await startService('jarvis', home, env);
    procs.push(second);
    prime.activeRequests = 0;

    // Until the dead holder's lease runs out nobody else gets the slot; then the next grant is larger.
    const seenBefore = await lockOf(second.url);
    if (Date.now() < expiresAt - 300) expect(seenBefore.map((h) => h.holder)).toEqual([held.holder]);
    const [next] = await waitFor(async () => {
      const h = await lockOf(second.url);
      return h.length === 1 && h[0].holder !== held.holder ? h : null;
    }, 15_000, 'second holder');
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 500);
    expect(next.token).toBeGreaterThan(held.token);
    expect(next.job_id).toBe(job.job_id);

    // The requeued job runs to its end under the new holder, its start carrying the new token.
    const done = await waitFor(async () => {
      const { body } = await getJson<{ status: string; fencing_token: number; attempts: { fencing_token: number }[] }>(`${second.url}/api/training/jobs/${job.job_id}`);
      return body.status === 'completed' || body.status === 'failed' ? body : null;
    }, 60_000, 'job end');
    expect(done.status).toBe('completed');
    expect(done.attempts.map((a) => a.fencing_token)).toEqual([next.token]);

    const stale = await postJson<{ error: string; seen: number }>(`${reactor.url}/api/training/start`, { job_id: 'stale-holder', model_type: 'nlu', fencing_token: held.token });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ error: 'stale fencing token', seen: next.token });
  }, 90_000);
});
