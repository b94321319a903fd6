/**
 * `trinity up` killed with SIGKILL: the services it started must notice and exit rather than run on
 * unsupervised (holding ports and the home). Each run starts `up` in its own temporary home.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, pollUntil, repoRoot } from './cluster.js';

const SUMMARY = /Startup summary[\s\S]*?\n={20,}\n/;
const UP_START_MS = 120_000;
/** How long the services may take to notice `up` is gone. */
const EXIT_GRACE_MS = 10_000;

/** Live pids whose environment says JARVIS_HOME=<home>. */
function processesWithHome(home: string): number[] {
  const needle = `JARVIS_HOME=${home}\0`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if ((readFileSync(`/proc/${name}/environ`, 'utf8') + '\0').includes(needle) && isAlive(Number(name))) out.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

export interface UpKillRun {
  services: number;
  survivors: number;
  error: string | null;
}

export async function upKillRun(): Promise<UpKillRun> {
  const root = repoRoot();
  const node = existsSync(join(root, 'node_modules/.bin/node')) ? join(root, 'node_modules/.bin/node') : process.execPath;
  const home = mkdtempSync(join(tmpdir(), 'trinity-soak-up-'));
  const proc = spawn(node, [join(root, 'bin/trinity.js'), 'up'], {
    env: { ...process.env, JARVIS_HOME: home, REACTOR_CORE_PORT: '0', JARVIS_PRIME_PORT: '0', JARVIS_PORT: '0', TRINITY_UP_TIMEOUT_SCALE: '2', NO_COLOR: '1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  proc.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const result: UpKillRun = { services: 0, survivors: 0, error: null };
  try {
    const ready = await pollUntil(() => SUMMARY.test(out) || proc.exitCode !== null, UP_START_MS, 200);
    if (!ready || proc.exitCode !== null) throw new Error(`trinity up did not print its summary:\n${out.slice(-1500)}`);
    const services = processesWithHome(home).filter((p) => p !== proc.pid);
    result.services = services.length;
    proc.kill('SIGKILL');
    await exited;
    await pollUntil(() => services.every((p) => !isAlive(p)), EXIT_GRACE_MS, 100);
    const left = services.filter(isAlive);
    result.survivors = left.length;
    for (const p of left) process.kill(p, 'SIGKILL');
  } catch (err) {
    result.error = (err as Error).message.slice(0, 600);
    if (proc.exitCode === null) proc.kill('SIGKILL');
    for (const p of processesWithHome(home)) process.kill(p, 'SIGKILL');
  } finally {
    // Every process of this home is gone or killed above; what they left is no longer needed. A process
    // still dying may write one more file: the removal retries, and a leftover never fails the run.
    try {
      rmSync(home, { recursive: true, force: true, maxRetries: 5 });
    } catch {
      // left in the temp folder
    }
  }
  return result;
}
