/**
 * bin/trinity.js started by a system Node older than 22.12 (Node 20 on these machines) hands over to the
 * Node 24 that `npm install` put into node_modules, and a SIGTERM to the launcher still stops the service.
 * Skipped where no older Node is on the PATH.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempHome } from '../helpers/processes.js';

function olderSystemNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    const candidate = join(dir, 'node');
    if (!existsSync(candidate)) continue;
    const [major, minor] = execFileSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 12)) return candidate;
  }
  return undefined;
}

function childrenOf(pid: number): number[] {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim();
  return out ? out.split('\n').map((s) => Number(s.trim())) : [];
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

const oldNode = olderSystemNode();

describe.skipIf(!oldNode || process.platform !== 'linux')('bin/trinity.js on an older system Node', () => {
  it('prints the version through the project Node', () => {
    const out = execFileSync(oldNode!, [BIN, '--version'], { encoding: 'utf8' });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('runs the service on node_modules/.bin/node and stops it on SIGTERM to the launcher', async () => {
    const home = tempHome();
    const launcher = spawn(oldNode!, [BIN, 'reactor', '--port', '0'], { env: { ...process.env, JARVIS_HOME: home, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      launcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      launcher.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      await expect.poll(() => /listening on port \d+/.test(out), { timeout: 30_000, interval: 100 }).toBe(true);
      const [child] = childrenOf(launcher.pid!);
      expect(child, out).toBeGreaterThan(0);
      expect(readlinkSync(`/proc/${child}/exe`)).toBe(realpathSync(join(ROOT, 'node_modules/.bin/node')));
      const exited = new Promise<number | null>((r) => launcher.once('exit', (code) => r(code)));
      launcher.kill('SIGTERM');
      expect(await exited).toBe(0);
      await expect.poll(() => alive(child), { timeout: 10_000, interval: 100 }).toBe(false);
    } finally {
      launcher.kill('SIGKILL');
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
