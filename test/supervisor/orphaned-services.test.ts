/**
 * Services whose supervisor died: they must neither run on unsupervised nor hang when asked to stop.
 * Both need real processes: the faults are a SIGKILLed parent and pipes that nobody reads any more.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, tempHome, waitFor } from '../helpers/processes.js';
import { isAlive, killUpAndServices, startUp, summaryRows, type UpProcess } from './up-process.js';

const SUMMARY = /Startup summary[\s\S]*?\n={20,}\n/;

let up: UpProcess | null = null;
const spawned: number[] = [];

afterEach(async () => {
  if (up) await killUpAndServices(up);
  up = null;
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('services whose supervisor died', () => {
  it('stop by themselves, cleanly, when `trinity up` is SIGKILLed', async () => {
    const home = tempHome('trinity-orphans-');
    up = startUp(home, { LOG_LEVEL: 'info' });
    await up.waitForOutput(SUMMARY, 90_000);
    const pids = [...summaryRows(up.output()).values()].map((r) => r.pid).filter((p): p is number => p !== null);
    expect(pids).toHaveLength(3);

    await up.stop('SIGKILL');
    for (const pid of pids) await waitFor(() => !isAlive(pid), 30_000, `service ${pid} to stop after up died`);
    for (const service of ['reactor', 'prime', 'jarvis']) {
      const log = readFileSync(join(home, 'logs', `${service}.log`), 'utf8');
      expect(log, service).toMatch(/"signal":"supervisor gone".*stopping/);
    }
    expect(readFileSync(join(home, 'logs', 'reactor.log'), 'utf8')).toMatch(/reactor-core stopped/);
  }, 150_000);

  it('exit on SIGTERM although their stdout and stderr lead to a dead parent', async () => {
    const home = tempHome('trinity-dead-pipes-');
    // A parent that launches a reactor with piped output (as `up` did before it had an IPC channel), then dies.
    const launcher = `
      const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, [${JSON.stringify(BIN)}, 'reactor', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      c.stdout.resume();
      c.stderr.on('data', (d) => { if (/listening on port/.test(d)) console.log('PID ' + c.pid); });`;
    const parent = spawn(process.execPath, ['-e', launcher], { env: { ...process.env, JARVIS_HOME: home, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const pid = Number((await waitFor(() => /PID (\d+)/.exec(out), 60_000, 'the reactor to listen'))[1]);
    spawned.push(pid);

    parent.kill('SIGKILL');
    await new Promise((resolve) => parent.once('exit', resolve));
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isAlive(pid), 15_000, `reactor ${pid} to exit after SIGTERM with its output pipes closed`);
    expect(readFileSync(join(home, 'logs', 'reactor.log'), 'utf8')).toMatch(/reactor-core stopped/);
  }, 90_000);
});
