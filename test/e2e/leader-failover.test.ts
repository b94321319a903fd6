/**
 * Issue 16 item 4 ("Leaders") end to end: two real `trinity reactor` processes on one JARVIS_HOME (one
 * database, two ports) and a real prime. The first leads the rollout controller and the intake; the
 * second serves the API as a follower. A rollout is started on the follower, and the leader is SIGKILLed
 * mid-rollout: the follower takes both leases within the TTL and carries the rollout on from its step
 * to the end, with each step decided once. On SQLite the processes share one JARVIS_HOME; on Postgres
 * each has its own (as on separate machines) and they share the database and TRINITY_ARTIFACT_DIR.
 */
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_STORES, serviceStore, type ServiceStore } from '../helpers/postgres.js';
import { freePort, getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

const TTL_SECONDS = 3;
const ROLES = ['rollout-controller', 'intake-reconcile'];

interface Decision {
  id: number;
  reason: string;
  step_index?: number;
  current_percentage: number;
  at: string;
}
interface Deployment {
  status: string;
  current_percentage: number;
  step: { index: number };
  decisions: Decision[];
}

for (const { name: storeName, skip } of E2E_STORES) {
  describe.skipIf(skip !== null)(`two reactors on one database: the rollout survives its leader [${storeName}]${skip ? ` skipped: ${skip}` : ''}`, () => {
    let store: ServiceStore;
    let artifacts: string;
    /** B's JARVIS_HOME: its events folder is the one it drains once it leads the intake. */
    let homeB: string;
    let primePort: number;
    let a: ServiceProcess;
    let b: ServiceProcess;
    let prime: ServiceProcess;
    const all: ServiceProcess[] = [];
    // Both reactors train (on Postgres a reactor leaves training to workers unless told).
    const env = () => ({ ...store.env, TRINITY_ARTIFACT_DIR: artifacts, TRAINING_WORKERS: 'reactor', JARVIS_PRIME_PORT: String(primePort), DEPLOYMENT_TICK_MS: '200', LEADER_LEASE_TTL: String(TTL_SECONDS), LOG_LEVEL: 'info' });
    const leaderOf = async (p: ServiceProcess) => (await getJson<{ leader_of: string[] }>(`${p.url}/api/health`)).body.leader_of;

    beforeAll(async () => {
      store = await serviceStore(storeName, 'trinity-leaders-');
      artifacts = tempHome('trinity-leaders-artifacts-');
      primePort = await freePort();
      a = await startService('reactor', store.home(), env());
      all.push(a);
      homeB = store.home();
      b = await startService('reactor', homeB, env());
      all.push(b);
      // Prime reads the split from the node that stays; pushes come from whichever node leads.
      prime = await startService('prime', store.home(), { TRINITY_ARTIFACT_DIR: artifacts, PORT: String(primePort), REACTOR_CORE_API_URL: b.url, PRIME_RECONCILE_INTERVAL: '0.5' });
      all.push(prime);
    }, 60_000);
    afterAll(async () => {
      for (const p of all) await p.kill('SIGKILL');
      await store?.close();
    });

    it('elects exactly one node per role: the first started leads both, the second follows', async () => {
      expect((await leaderOf(a)).sort()).toEqual([...ROLES].sort());
      expect(await leaderOf(b)).toEqual([]);
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      expect(metrics).toMatch(/trinity_leader\{role="rollout-controller"\} 1/);
      expect(await (await fetch(`${b.url}/metrics`)).text()).toMatch(/trinity_leader\{role="rollout-controller"\} 0/);
    });

    it('carries a rollout on from its step on the other node when the leader is SIGKILLed', async () => {
      const rows = readSnips('train');
      const test = readSnips('test');
      const train = async (jobId: string, seed: number) => {
        const exps = snipsExperiences(rows.filter((_, i) => i % 8 === seed), `s${seed}`);
        expect((await postJson(`${a.url}/api/training/start`, { job_id: jobId, model_type: 'nlu', experiences: exps, epochs: 2, config: { seed } })).status).toBe(200);
        return waitFor(async () => {
          const { body } = await getJson<{ status: string; model_version: string }>(`${a.url}/api/training/status/${jobId}`);
          if (body.status === 'failed') throw new Error(`${jobId} failed`);
          return body.status === 'completed' ? body.model_version : null;
        }, 120_000, `${jobId} trained`);
      };
      const stable = await train('v-a', 1);
      const canary = await train('v-b', 2);
      await waitFor(async () => (await getJson<{ models: { nlu?: { stable: string } } }>(`${prime.url}/health`)).body.models.nlu?.stable === stable, 15_000, 'prime to serve the first version');

      // Deployed through the follower: its write goes to the database, the leader's loop runs it.
      const dep = await postJson<{ deployment_id: string }>(`${b.url}/api/models/deploy`, {
        model_type: 'nlu', model_version: canary, strategy: 'gradual_rollout', force: true,
        config: { rollout_steps: [10, 40, 70, 100], monitor_duration_seconds: 2, min_samples: 5, rollback_on_error_rate: 0.5 },
      });
      expect(dep.status).toBe(200);
      const id = dep.body.deployment_id;
      const deployment = async () => (await getJson<Deployment>(`${b.url}/api/models/deployments/${id}`)).body;

      // Steady traffic with good feedback, so every step gets its samples.
      let stop = false;
      const traffic = (async () => {
        for (let i = 0; !stop; i++) {
          const r = await postJson<{ prediction_id: string }>(`${prime.url}/api/predict/nlu`, { input: { text: test[i % test.length].text }, session_id: `s-${i}` }).catch(() => null);
          if (r?.status === 200) await postJson(`${prime.url}/api/feedback`, { prediction_id: r.body.prediction_id, success: true }).catch(() => null);
        }
      })();

      try {
        // Mid-rollout: the first step advanced, the rollout is not over.
        const before = await waitFor(async () => {
          const d = await deployment();
          return d.status === 'deploying' && d.step.index >= 1 ? d : null;
        }, 60_000, 'the rollout to pass its first step', 50);
        await a.kill('SIGKILL');
        const killedAt = Date.now();
        const stepAtKill = (await deployment()).step.index;
        expect(stepAtKill).toBeGreaterThanOrEqual(before.step.index);

        await waitFor(async () => {
          const held = await leaderOf(b);
          return ROLES.every((r) => held.includes(r));
        }, (TTL_SECONDS + 3) * 1000, 'the follower to take both roles', 50);
        const takeoverMs = Date.now() - killedAt;
        console.log(`takeover after SIGKILL: ${takeoverMs} ms (TTL ${TTL_SECONDS} s); step at kill ${stepAtKill}`);
        expect(takeoverMs).toBeLessThan((TTL_SECONDS + 3) * 1000);
        // Picked up where it was, not started over.
        expect((await deployment()).step.index).toBeGreaterThanOrEqual(stepAtKill);

        const end = await waitFor(async () => {
          const d = await deployment();
          return d.status === 'deploying' || d.status === 'paused' ? null : d;
        }, 90_000, 'the rollout to end', 100);
        expect(end.status).toBe('completed');
        expect(end.current_percentage).toBe(100);

        const progress = end.decisions.filter((d) => ['DeploymentStarted', 'StepAdvanced', 'RolloutCompleted'].includes(d.reason));
        expect(progress.map((d) => d.reason)).toEqual(['DeploymentStarted', 'StepAdvanced', 'StepAdvanced', 'RolloutCompleted']);
        expect(progress.filter((d) => d.reason === 'StepAdvanced').map((d) => d.current_percentage)).toEqual([40, 70]);
        // The steps after the kill were decided by the node that took over.
        expect(progress.filter((d) => Date.parse(d.at) > killedAt).length).toBeGreaterThanOrEqual(1);
        await waitFor(async () => (await getJson<{ models: { nlu?: { stable: string } } }>(`${prime.url}/health`)).body.models.nlu?.stable === canary, 15_000, 'prime to serve the new stable');
      } finally {
        stop = true;
        await traffic;
      }

      // The intake moved too: a file dropped in the events folder is drained by the new leader.
      const file = join(homeB, 'trinity', 'events', 'after-failover.json');
      writeFileSync(file, JSON.stringify({ experiences: snipsExperiences(rows.slice(0, 5), 'after') }));
      await waitFor(() => !existsSync(file), 15_000, 'the new intake leader to ingest the file');
    }, 400_000);

    it('waits out the TTL of a leader that is stopped but alive, which then stands down when it wakes', async () => {
      const c = await startService('reactor', store.home(), env());
      all.push(c);
      expect(await leaderOf(c)).toEqual([]);
      // SIGSTOP: the process exists, so its lease is not taken early; only the TTL frees it.
      b.proc.kill('SIGSTOP');
      const stoppedAt = Date.now();
      try {
        await waitFor(async () => {
          const held = await leaderOf(c);
          return ROLES.every((r) => held.includes(r));
        }, (TTL_SECONDS + 4) * 1000, 'the third node to take both roles', 50);
        const takeoverMs = Date.now() - stoppedAt;
        console.log(`takeover from a stopped leader: ${takeoverMs} ms (TTL ${TTL_SECONDS} s)`);
        // Its last renewal was at most TTL/3 before the stop, so the lease had at least 2/3 of the TTL left.
        expect(takeoverMs).toBeGreaterThan((TTL_SECONDS * 2 * 1000) / 3 - 100);
      } finally {
        b.proc.kill('SIGCONT');
      }
      await waitFor(async () => (await leaderOf(b)).length === 0, 5_000, 'the woken node to stand down');
      expect((await leaderOf(c)).sort()).toEqual([...ROLES].sort());
    }, 60_000);

  });
}
