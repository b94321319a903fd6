/**
 * `trinity up` end to end: real processes, a temporary JARVIS_HOME, ports picked by the OS. Covers the
 * whole start (three services healthy, integration checks, summary), a clean SIGTERM that leaves no
 * process behind, and adopting a reactor that was already running without stopping it on exit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { E2E_STORES, freshDatabase } from '../helpers/postgres.js';
import { getJson, postJson, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { isAlive, killUpAndServices, processesWithHome, startUp, summaryRows, type UpProcess } from './up-process.js';

const SUMMARY = /Startup summary[\s\S]*?\n={20,}\n/;
const START_MS = 75_000;

let up: UpProcess | null = null;
let reactor: ServiceProcess | null = null;

afterEach(async () => {
  // A failed assertion must not leave services running for the next test.
  if (up) await killUpAndServices(up);
  await reactor?.kill('SIGKILL');
  up = null;
  reactor = null;
});

describe('trinity up', () => {
  it('starts reactor, prime and jarvis healthy on OS-picked ports, then SIGTERM stops them and leaves no process behind', async () => {
    const home = tempHome('trinity-up-');
    // A reserve no machine has: the summary carries trinity doctor's verdict (nothing here trains through jarvis).
    up = startUp(home, { TRAINING_MEMORY_RESERVE_GB: '100000' });
    await up.waitForOutput(SUMMARY, START_MS);
    const out = up.output();
    expect(out).toMatch(/✗ training cannot start on this machine \(trinity doctor\):\n {4}- host memory: .*< 100000 GB per job \(TRAINING_MEMORY_RESERVE_GB\).* → unset TRAINING_MEMORY_RESERVE_GB/);
    const rows = summaryRows(out);
    expect([...rows.keys()]).toEqual(['Reactor-Core', 'J-Prime', 'JARVIS']);
    const pids: number[] = [];
    for (const [title, row] of rows) {
      expect(row, title).toMatchObject({ mode: 'started', status: 'healthy' });
      expect(row.port, title).toBeGreaterThan(0);
      pids.push(row.pid!);
      // The summary is the truth: each service answers healthy on the port it names.
      const path = title === 'Reactor-Core' ? '/api/health' : '/health';
      const health = await getJson<{ status: string }>(`http://127.0.0.1:${row.port}${path}`);
      expect(health, title).toMatchObject({ status: 200, body: { status: 'healthy' } });
    }
    expect(out).toMatch(/PHASE 1: Reactor-Core/);
    expect(out).toMatch(/PHASE 3: Integration verification/);
    expect(out).toMatch(/✓ training API: GET http:\/\/127\.0\.0\.1:\d+\/api\/training\/jobs → 200/);
    expect(out).toMatch(/✓ jarvis → reactor: circuit breaker closed/);
    expect(out).toMatch(/✓ reactor → prime/);
    expect(out).toMatch(/FULL MODE/);
    expect(out).toMatch(/deployed models: none yet/);
    // The children's JSON logs reach the terminal pretty and prefixed, and their log files exist.
    expect(out).toMatch(/^reactor │ \d\d:\d\d:\d\d INFO {2}reactor-core ready port=\d+/m);
    for (const s of ['reactor', 'prime', 'jarvis', 'supervisor']) expect(readFileSync(join(home, 'logs', `${s}.log`), 'utf8')).toMatch(/"level":30/);

    // A trainer process (a child of reactor) is running when up is told to stop: it must go too.
    const reactorUrl = `http://127.0.0.1:${rows.get('Reactor-Core')!.port}`;
    const experiences = snipsExperiences(readSnips('train').filter((_, i) => i % 20 === 0));
    await postJson(`${reactorUrl}/api/training/start`, { job_id: 'busy', model_type: 'nlu', experiences, epochs: 500 });
    const trainer = await waitFor(async () => (await getJson<{ trainer_pids: number[] }>(`${reactorUrl}/api/resources`)).body.trainer_pids[0], 60_000, 'a trainer process');
    pids.push(trainer);

    const exit = await up.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(up.output()).toMatch(/All services started by trinity up have stopped/);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(processesWithHome(home)).toEqual([]);
  });

  for (const { name: storeName, skip } of E2E_STORES) {
    it.skipIf(skip !== null)(`--workers 2 starts two training workers after the reactor, which leaves training to them; reactor lists both and a job trains on one [${storeName}]`, async () => {
      const home = tempHome('trinity-up-workers-');
      const db = storeName === 'postgres' ? await freshDatabase() : null;
      up = startUp(home, db ? { TRINITY_DATABASE_URL: db.url } : {}, ['--workers', '2']);
      await up.waitForOutput(SUMMARY, START_MS);
      const out = up.output();
      const rows = summaryRows(out);
      expect([...rows.keys()]).toEqual(['Reactor-Core', 'Worker 1', 'Worker 2', 'J-Prime', 'JARVIS']);
      for (const [title, row] of rows) expect(row, title).toMatchObject({ mode: 'started', status: 'healthy' });
      expect(out).toMatch(/PHASE 1: Reactor-Core and 2 training workers/);
      expect(out).toMatch(/✓ reactor → workers: reactor lists all 2 workers as live training runners/);
      expect(out).toMatch(/FULL MODE/);
      expect(out).toMatch(/^worker1 │ /m);
      expect(out).toContain(db ? `database: Postgres at ${db.url}` : `database: SQLite at ${join(home, 'trinity.db')}`);

      const reactorUrl = `http://127.0.0.1:${rows.get('Reactor-Core')!.port}`;
      const workerIds = await Promise.all([1, 2].map(async (n) => (await getJson<{ worker_id: string }>(`http://127.0.0.1:${rows.get(`Worker ${n}`)!.port}/api/health`)).body.worker_id));
      const experiences = snipsExperiences(readSnips('train').filter((_, i) => i % 40 === 0));
      await postJson(`${reactorUrl}/api/training/start`, { job_id: 'on-a-worker', model_type: 'nlu', experiences, epochs: 2 });
      const done = await waitFor(async () => {
        const s = (await getJson<{ status: string; worker_id: string | null }>(`${reactorUrl}/api/training/status/on-a-worker`)).body;
        return s.status === 'completed' ? s : null;
      }, 120_000, 'the job to complete');
      expect(workerIds).toContain(done.worker_id);

      const pids = [...rows.values()].map((r) => r.pid!);
      expect((await up.stop('SIGTERM')).code).toBe(0);
      for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
      expect(processesWithHome(home)).toEqual([]);
      if (db) {
        expect(existsSync(join(home, 'trinity.db'))).toBe(false);
        await db.drop();
      }
    });
  }

  it('adopts a reactor that already answers its health probe, keeps its pid, and leaves it running on exit', async () => {
    const home = tempHome('trinity-up-adopt-');
    reactor = await startService('reactor', home);
    up = startUp(home, { REACTOR_CORE_PORT: String(reactor.port) });
    await up.waitForOutput(SUMMARY, START_MS);
    const rows = summaryRows(up.output());
    expect(rows.get('Reactor-Core')).toMatchObject({ mode: 'adopted', pid: reactor.proc.pid, port: reactor.port, status: 'healthy' });
    expect(rows.get('J-Prime')).toMatchObject({ mode: 'started', status: 'healthy' });
    expect(rows.get('JARVIS')).toMatchObject({ mode: 'started', status: 'healthy' });
    expect(up.output()).toMatch(/Reactor-Core already running \(PID: \d+\): adopting it/);
    // Not started twice: only one reactor process has this home.
    expect(up.output()).not.toMatch(/Reactor-Core launched/);
    expect(up.output()).toMatch(/FULL MODE/);

    // A second `up` finds all three running: it adopts them all, then waits for a signal like any other
    // run (with no child of its own, nothing else keeps it alive), and stops none of them.
    const port = (title: string) => String(rows.get(title)!.port);
    const again = startUp(home, { REACTOR_CORE_PORT: port('Reactor-Core'), JARVIS_PRIME_PORT: port('J-Prime'), JARVIS_PORT: port('JARVIS') });
    await again.waitForOutput(SUMMARY, START_MS);
    expect([...summaryRows(again.output()).values()].map((r) => [r.title, r.mode, r.pid])).toEqual(
      [...rows.values()].map((r) => [r.title, 'adopted', r.pid]),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(again.proc.exitCode, again.output()).toBeNull();
    expect((await again.stop('SIGTERM')).code).toBe(0);
    for (const r of rows.values()) expect(isAlive(r.pid!), r.title).toBe(true);

    const exit = await up.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(isAlive(reactor.proc.pid!)).toBe(true);
    const health = await getJson(`${reactor.url}/api/health`);
    expect(health.status).toBe(200);
    // Only the adopted reactor is left of this home.
    await waitFor(() => processesWithHome(home).every((p) => p === reactor!.proc.pid), 5_000, 'prime and jarvis gone');
  });
});
