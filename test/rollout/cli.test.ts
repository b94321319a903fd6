import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { createServiceFixture, type ServiceFixture } from './service-fixture.js';

let fx: ServiceFixture;
let url: string;
beforeEach(async () => {
  fx = await createServiceFixture();
  url = await fx.app.listen({ host: '127.0.0.1', port: 0 });
});
afterEach(async () => {
  await fx.close();
});

/** Runs `trinity …args --url <reactor>` in this process and collects its output. */
async function trinity(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli(['node', 'trinity', ...args, '--url', url], { stdout, stderr, env: { JARVIS_HOME: '/nonexistent-trinity-home' } });
  return { code, stdout: out, stderr: err };
}

describe('trinity deploy, rollback, models', () => {
  it('deploy follows the rollout decision by decision and exits 0 once the new version is stable', async () => {
    const feeding = setInterval(() => fx.fake.add('nlu', 'v1.0.1', 10, 0), 15);
    try {
      const r = await trinity('deploy', 'nlu', 'v1.0.1', '--strategy', 'canary', '--initial-percentage', '20', '--min-samples', '20', '--monitor-seconds', '0.05');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^deployment dep-\S+ deploying: deploying v1\.0\.1 \(canary\): 20 % of nlu traffic/);
      expect(lines[1]).toMatch(/^started\s+20 %\s+deploying v1\.0\.1/);
      expect(r.stdout).toMatch(/^completed\s+100 %\s+complete: v1\.0\.1 is stable/m);
      expect(lines.at(-1)).toBe('completed (RolloutCompleted): v1.0.1 is stable');
    } finally {
      clearInterval(feeding);
    }

    const models = await trinity('models', 'nlu');
    expect(models.code).toBe(0);
    expect(models.stdout).toMatch(/^nlu: stable v1\.0\.1$/m);
    expect(models.stdout).toMatch(/^ {2}VERSION\s+STATUS\s+VAL_ACC\s+CREATED\s+JOB$/m);
    expect(models.stdout).toMatch(/^ {2}v1\.0\.1\s+stable\s+0\.9000\s/m);

    const rb = await trinity('rollback', 'nlu');
    expect(rb).toMatchObject({ code: 0, stdout: 'nlu rolled back to v1.0.0 (was v1.0.1)\n' });
  });

  it('deploy --json prints each decision as a JSON line and exits 1 when the rollout is rolled back', async () => {
    const feeding = setInterval(() => fx.fake.add('nlu', 'v1.0.1', 5, 5), 15);
    try {
      const r = await trinity('deploy', 'nlu', 'v1.0.1', '--json', '--min-samples', '20');
      expect(r.code).toBe(1);
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; reason: string; error_rate: number });
      expect(events[0]).toMatchObject({ event: 'started', reason: 'DeploymentStarted' });
      expect(events.at(-1)).toMatchObject({ event: 'rolled_back', reason: 'ErrorRateExceeded' });
      expect(events.at(-1)!.error_rate).toBeGreaterThan(0.05);
    } finally {
      clearInterval(feeding);
    }
  });

  it('deploy refused by the accuracy gate says so and exits 2; models shows the active deployment', async () => {
    const refused = await trinity('deploy', 'nlu', 'v1.0.2');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/reactor answered 422: nlu v1\.0\.2 has accuracy 0\.8, more than 0\.02 below stable v1\.0\.0 \(0\.88\), compared on own validation splits; send force: true/);
    const started = await trinity('deploy', 'nlu', 'v1.0.2', '--force', '--no-follow');
    expect(started.code).toBe(0);
    const id = /deployment (dep-\S+)/.exec(started.stdout)![1];
    const models = await trinity('models');
    expect(models.stdout).toContain(`nlu: stable v1.0.0, canary v1.0.2 at 10 %, deployment ${id}`);
    expect(models.stdout).toMatch(/^voice: stable –\n {2}no versions yet$/m);
  });
});
