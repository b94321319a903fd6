/**
 * `trinity up` when things go wrong: a launched service killed behind its back is restarted (and the
 * restart logged), and a service that cannot start makes `up` exit non-zero with the failing probe and
 * the service's last output lines.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJson, postJson, tempHome, waitFor } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { isAlive, killUpAndServices, processesWithHome, startUp, summaryRows, type UpProcess } from './up-process.js';

const SUMMARY = /Startup summary[\s\S]*?\n={20,}\n/;

let up: UpProcess | null = null;
let blocker: Server | null = null;

afterEach(async () => {
  if (up) await killUpAndServices(up);
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  up = null;
  blocker = null;
});

describe('trinity up', () => {
  it('restarts a launched reactor killed with SIGKILL on the same port, and logs the restart', async () => {
    const home = tempHome('trinity-up-crash-');
    // J-Prime off keeps this test to the restart itself; the summary then says which part is degraded.
    up = startUp(home, { JARVIS_PRIME_ENABLED: 'false' });
    await up.waitForOutput(SUMMARY, 60_000);
    const rows = summaryRows(up.output());
    expect(rows.get('J-Prime')).toMatchObject({ mode: 'disabled', pid: null });
    expect(up.output()).toMatch(/DEGRADED MODE[\s\S]*J-Prime disabled/);
    const first = rows.get('Reactor-Core')!;
    expect(first.mode).toBe('started');

    // With a trainer running, so the kill also shows that reactor's children do not outlive it.
    const reactorUrl = `http://127.0.0.1:${first.port}`;
    const experiences = snipsExperiences(readSnips('train').filter((_, i) => i % 20 === 0));
    await postJson(`${reactorUrl}/api/training/start`, { job_id: 'busy', model_type: 'nlu', experiences, epochs: 500 });
    const trainer = await waitFor(async () => (await getJson<{ trainer_pids: number[] }>(`${reactorUrl}/api/resources`)).body.trainer_pids[0], 60_000, 'a trainer process');

    process.kill(first.pid!, 'SIGKILL');
    const m = await up.waitForOutput(/reactor │ ✓ restarted \(PID: (\d+)\), healthy after [\d.]+ s \(restart 1\)/, 45_000);
    const second = Number(m[1]);
    expect(second).not.toBe(first.pid);
    // The orphaned trainer exits at its next event-loop turn (at most an epoch away), not necessarily before the restart.
    await waitFor(() => !isAlive(trainer), 10_000, `trainer ${trainer} of the killed reactor to exit`);
    expect(up.output()).toMatch(/reactor │ ✗ exited unexpectedly \(signal SIGKILL, PID \d+\)/);
    expect(up.output()).toMatch(/reactor │ → restarting in 1 s \(restart 1\)/);
    // Same port as before, so the URL jarvis was given still holds.
    expect((await getJson(`http://127.0.0.1:${first.port}/api/health`)).body).toMatchObject({ status: 'healthy' });
    const log = readFileSync(join(home, 'logs', 'supervisor.log'), 'utf8');
    expect(log).toMatch(/"child":"reactor".*"signal":"SIGKILL".*exited unexpectedly/);
    expect(log).toMatch(/"child":"reactor","child_pid":\d+,"attempt":1.*"msg":"reactor restarted"/);

    expect((await up.stop('SIGTERM')).code).toBe(0);
    expect(isAlive(second)).toBe(false);
    expect(processesWithHome(home)).toEqual([]);
  });

  it('exits non-zero with the failing probe and the last log lines when reactor cannot bind its port', async () => {
    const home = tempHome('trinity-up-fail-');
    // A plain TCP server: it accepts connections and reads, but never speaks HTTP, so the probe gets no answer.
    blocker = createServer((c) => c.resume());
    const port = await new Promise<number>((resolve) => blocker!.listen(0, '127.0.0.1', () => resolve((blocker!.address() as { port: number }).port)));
    up = startUp(home, { REACTOR_CORE_PORT: String(port) });
    const exit = await up.exited;
    const out = up.output();
    expect(exit.code, out).toBe(1);
    expect(out).toMatch(/✗ Reactor-Core exited before it was healthy \(code 1\)/);
    expect(out).toContain(`last probe: GET http://127.0.0.1:${port}/api/health → no answer within 2000 ms`);
    expect(out).toMatch(/last \d+ lines of reactor:[\s\S]*reactor │ trinity: .*EADDRINUSE/);
    expect(out).toContain(`full log: ${join(home, 'logs', 'reactor.log')}`);
    // Nothing after reactor was launched, and nothing is left.
    expect(out).not.toMatch(/PHASE 2/);
    await waitFor(() => processesWithHome(home).length === 0, 5_000, 'no process left');
  });
});
