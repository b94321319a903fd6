import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

const slice = snipsExperiences(readSnips('train').filter((_, i) => i % 3 === 0));

describe('Reactor lifecycle', () => {
  const procs: ServiceProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
  });

  it('reports health, resources with trainer memory, metrics and a fresh state file while training', async () => {
    const home = tempHome();
    const reactor = await startService('reactor', home, { STATE_FILE_INTERVAL: '0.5' });
    procs.push(reactor);
    const health = await getJson(`${reactor.url}/api/health`);
    expect(health.body).toMatchObject({ status: 'healthy', service: 'reactor-core', active_training_jobs: 0 });
    expect((await getJson(`${reactor.url}/health`)).status).toBe(200);

    await postJson(`${reactor.url}/api/training/start`, { job_id: 'busy', model_type: 'nlu', experiences: slice, epochs: 300 });
    await waitFor(async () => (await getJson<{ epoch: number }>(`${reactor.url}/api/training/status/busy`)).body.epoch >= 1, 60_000, 'first epoch');
    const idle = await getJson<{ memory_usage_gb: number; trainer_pids: number[]; memory_total_gb: number; memory_available_gb: number; active_training_jobs: number }>(
      `${reactor.url}/api/resources`,
    );
    expect(idle.body.active_training_jobs).toBe(1);
    expect(idle.body.trainer_pids).toHaveLength(1);
    const trainerRss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${idle.body.trainer_pids[0]}/status`, 'utf8'))![1]) * 1024;
    const reactorRss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${reactor.proc.pid}/status`, 'utf8'))![1]) * 1024;
    // Memory counts the service and its trainer: more than either alone.
    expect(idle.body.memory_usage_gb * 1024 ** 3).toBeGreaterThan(Math.max(trainerRss, reactorRss));
    expect(idle.body.memory_total_gb).toBeGreaterThan(idle.body.memory_available_gb);

    const state = join(home, 'cross_repo/reactor_state.json');
    const first = JSON.parse(readFileSync(state, 'utf8')) as Record<string, unknown>;
    expect(first).toMatchObject({ status: 'busy', active_training_jobs: 1, pid: reactor.proc.pid, port: reactor.port });
    expect(statSync(state).mode & 0o777).toBe(0o600);
    const again = await waitFor(() => {
      const s = JSON.parse(readFileSync(state, 'utf8')) as { last_heartbeat: number };
      return s.last_heartbeat > (first.last_heartbeat as number) ? s : null;
    }, 5_000, 'state file rewrite');
    expect(again.last_heartbeat).toBeGreaterThan(first.last_heartbeat as number);

    const metrics = await fetch(`${reactor.url}/metrics`);
    const text = await metrics.text();
    expect(text).toMatch(/trinity_active_training_jobs 1/);
    expect(text).toMatch(/trinity_trainer_memory_bytes [1-9]/);
    await postJson(`${reactor.url}/api/training/cancel/busy`, {});
  }, 120_000);

  it('checkpoints a running job on SIGTERM and resumes it from there on the next start', async () => {
    const home = tempHome();
    let reactor = await startService('reactor', home);
    procs.push(reactor);
    // No periodic checkpoint in reach: only the shutdown can write one.
    await postJson(`${reactor.url}/api/training/start`, { job_id: 'graceful', model_type: 'nlu', experiences: slice, epochs: 6, checkpoint_interval: 1000 });
    await waitFor(async () => (await getJson<{ epoch: number }>(`${reactor.url}/api/training/status/graceful`)).body.epoch >= 2, 60_000, 'epoch 2');
    const code = await reactor.kill('SIGTERM');
    expect(code).toBe(0);
    reactor = await startService('reactor', home);
    procs.push(reactor);
    const end = await waitFor(async () => {
      const { body } = await getJson<{ status: string; resumed_from_epoch: number | null }>(`${reactor.url}/api/training/status/graceful`);
      return body.status === 'completed' ? body : null;
    }, 120_000, 'completion after restart');
    expect(end.resumed_from_epoch).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
