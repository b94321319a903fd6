/**
 * What a new user does first, with every setting at its default: `trinity up`, then `trinity demo`.
 * Only the ports (ephemeral, so tests can run side by side) and JARVIS_HOME (empty) differ from a fresh
 * install; nothing else from the test runner's environment reaches the services or the demo. Within
 * three minutes J-Prime must serve a version trained on the demo's experiences that gets "play some jazz"
 * right, and the second round's version must be in a gradual rollout at 10 %.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, postJson, tempHome } from '../helpers/processes.js';
import { runCli } from '../cli/run-cli.js';
import { killUpAndServices, startUp, summaryRows, type UpProcess } from '../supervisor/up-process.js';

/** The bound the demo must meet on a loaded 2-core machine, from `trinity demo` to its last line. */
const DEMO_WITHIN_MS = 180_000;

/** Only what any process needs to run; every Trinity setting stays at its default. */
function bareEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'LANG', 'TMPDIR'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
}

interface Split {
  stable: string | null;
  canary: string | null;
  canary_percentage: number;
}

describe('trinity demo with default settings', () => {
  let up: UpProcess | undefined;
  afterAll(async () => {
    if (up) await killUpAndServices(up);
  });

  it('trains, serves and starts rolling out versions that answer like a user expects', async () => {
    const home = tempHome('trinity-demo-');
    // Ports 0 and JARVIS_HOME come from startUp; TRINITY_UP_TIMEOUT_SCALE (a test-only tweak) is removed.
    up = startUp(home, { TRINITY_UP_TIMEOUT_SCALE: undefined, HOME: home }, [], bareEnv());
    await up.waitForOutput(/FULL MODE/, 60_000);
    const rows = summaryRows(up.output());
    const port = (title: string) => String(rows.get(title)!.port);
    const reactor = `http://127.0.0.1:${port('Reactor-Core')}`;
    const prime = `http://127.0.0.1:${port('J-Prime')}`;

    const started = Date.now();
    const demo = await runCli(['demo'], home, {
      env: { ...bareEnv(), NO_COLOR: '1', REACTOR_CORE_PORT: port('Reactor-Core'), JARVIS_PRIME_PORT: port('J-Prime'), JARVIS_PORT: port('JARVIS') },
      timeoutMs: DEMO_WITHIN_MS,
    });
    const took = Date.now() - started;
    const transcript = `demo (${Math.round(took / 1000)} s, exit ${demo.code ?? demo.signal}):\n${demo.stdout}\n${demo.stderr}\n--- trinity up:\n${up.output().slice(-4000)}`;
    expect(demo.code, transcript).toBe(0);
    expect(took).toBeLessThan(DEMO_WITHIN_MS);

    // The demo's own account: both rounds trained, the second one rolling out, the right intent.
    expect(demo.stdout, transcript).toMatch(/^ *\d+:\d\d {2}trained +v1\.0\.0 /m);
    expect(demo.stdout, transcript).toMatch(/^ *\d+:\d\d {2}rollout +gradual_rollout \S+: v1\.0\.1 gets 10 %/m);
    expect(demo.stdout, transcript).toMatch(/predicted +"play some jazz by miles davis" +→ PlayMusic /);

    // J-Prime itself: v1.0.0 stable, v1.0.1 canary at 10 %, and the prediction.
    const served = await getJson<{ models: Record<string, Split> }>(`${prime}/api/v1/models`);
    expect(served.body.models.nlu).toMatchObject({ stable: 'v1.0.0', canary: 'v1.0.1', canary_percentage: 10 });
    const answer = await postJson<{ intent: string; model_version: string }>(`${prime}/api/predict/nlu`, { input: { text: 'play some jazz by miles davis' }, session_id: 'e2e' });
    expect(answer.status).toBe(200);
    expect(answer.body.intent).toBe('PlayMusic');

    // Trained on the demo's experiences: the empty home held nothing else, and round 1 was 3,000 of them.
    const stats = await getJson<{ nlu: { total: number } }>(`${reactor}/api/experiences/stats`);
    expect(stats.body.nlu.total).toBe(6000);
    const v1 = await getJson<{ experience_counts: Record<string, number> }>(`${reactor}/api/models/nlu/v1.0.0`);
    expect(v1.body.experience_counts.train + v1.body.experience_counts.validation).toBe(3000);

    // The rollout reactor runs: gradual, at its first step.
    const deployments = await getJson<{ deployments: Array<{ model_version: string; strategy: string; status: string; current_percentage: number }> }>(
      `${reactor}/api/models/deployments?model_type=nlu`,
    );
    expect(deployments.body.deployments[0]).toMatchObject({ model_version: 'v1.0.1', strategy: 'gradual_rollout', status: 'deploying', current_percentage: 10 });
  }, 300_000);
});
