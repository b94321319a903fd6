/**
 * Issue 6's whole loop, with `trinity up` running all three services: real SNIPS experiences posted to
 * JARVIS only lead — with no other call — to a trained job, a registered version, a gradual rollout,
 * predictions served by both versions with sticky sessions, and the rollout completed after good feedback.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, postJson, tempHome, waitFor } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { processesWithHome, startUp, summaryRows, type UpProcess } from '../supervisor/up-process.js';

const train = readSnips('train');
const test = readSnips('test');

interface ModelsBody {
  stable: string | null;
  canary: string | null;
  canary_percentage: number;
  deployment_id: string | null;
  versions: { version: string }[];
}

describe('the full loop through trinity up', () => {
  let up: UpProcess | undefined;
  let home: string;
  afterAll(async () => {
    await up?.stop('SIGTERM');
  });

  it('turns experiences posted to JARVIS into a deployed, rolled-out model', async () => {
    home = tempHome();
    up = startUp(home, {
      MIN_EXPERIENCES_FOR_TRAINING: '1000',
      TRAINING_CHECK_INTERVAL: '1',
      EXPERIENCE_FLUSH_INTERVAL: '0.3',
      EXPERIENCE_RECONCILE_INTERVAL: '0.5',
      RESOURCE_CHECK_INTERVAL: '0.5',
      TRAINING_MEMORY_RESERVE_GB: '0.5',
      MAX_TOTAL_MEMORY_GB: '64',
      ROLLOUT_STEPS: '20,60,100',
      AB_TEST_MIN_SAMPLES: '20',
      ROLLOUT_MONITOR_DURATION_SECONDS: '1',
      DEPLOYMENT_TICK_MS: '200',
      PRIME_RECONCILE_INTERVAL: '0.5',
    });
    await up.waitForOutput(/FULL MODE/, 120_000);
    const rows = summaryRows(up.output());
    const url = (title: string) => `http://127.0.0.1:${rows.get(title)!.port}`;
    const jarvis = url('JARVIS');
    const reactor = url('Reactor-Core');
    const prime = url('J-Prime');

    const nlu = async () => (await getJson<ModelsBody>(`${reactor}/api/models/nlu`)).body;
    const post = async (rowsToSend: typeof train, prefix: string) => {
      const all = snipsExperiences(rowsToSend, prefix);
      for (let i = 0; i < all.length; i += 500) {
        const r = await postJson(`${jarvis}/api/experiences`, { experiences: all.slice(i, i + 500) });
        expect(r.status).toBe(200);
      }
    };

    // First batch: JARVIS forwards, auto-triggers, trains; the first version becomes stable.
    await post(train.filter((_, i) => i % 4 === 0), 'a');
    await waitFor(async () => (await nlu()).stable === 'v1.0.0', 240_000, 'v1.0.0 trained, registered and stable', 500);

    // Second batch: a new version, rolled out gradually by the deploy JARVIS requests.
    await post(train.filter((_, i) => i % 4 === 1), 'b');
    const rolling = await waitFor(async () => {
      const m = await nlu();
      return m.canary === 'v1.0.1' && m.deployment_id ? m : null;
    }, 240_000, 'v1.0.1 in a gradual rollout', 500);
    const deploymentId = rolling.deployment_id!;
    const dep = await getJson<{ strategy: string }>(`${reactor}/api/models/deployments/${deploymentId}`);
    expect(dep.body.strategy).toBe('gradual_rollout');

    // Predictions by both versions, each session sticking to one; good feedback completes the rollout.
    const sessions = new Map<string, Set<string>>();
    let i = 0;
    const done = await waitFor(async () => {
      for (let k = 0; k < 60; k++, i++) {
        const session = `user-${i % 40}`;
        const { status, body } = await postJson<{ prediction_id: string; model_version: string }>(`${prime}/api/predict/nlu`, {
          input: { text: test[i % test.length].text },
          session_id: session,
        });
        expect(status).toBe(200);
        const seenBefore = sessions.get(session) ?? new Set<string>();
        seenBefore.add(body.model_version);
        sessions.set(session, seenBefore);
        await postJson(`${prime}/api/feedback`, { prediction_id: body.prediction_id, success: true });
      }
      const d = await getJson<{ status: string; current_percentage: number }>(`${reactor}/api/models/deployments/${deploymentId}`);
      return d.body.status === 'completed' ? d.body : null;
    }, 180_000, 'the rollout to complete', 0);
    expect(done.current_percentage).toBe(100);
    const versionsSeen = new Set([...sessions.values()].flatMap((s) => [...s]));
    expect(versionsSeen).toEqual(new Set(['v1.0.0', 'v1.0.1']));
    expect((await nlu()).stable).toBe('v1.0.1');

    const code = await up.stop('SIGTERM');
    expect(code.code).toBe(0);
    up = undefined;
    await waitFor(() => processesWithHome(home).length === 0, 10_000, 'no process left');
  }, 600_000);
});
