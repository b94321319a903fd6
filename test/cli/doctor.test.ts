/** `trinity doctor` as a user runs it: the real binary, a temporary JARVIS_HOME, real ports. */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempHome } from '../helpers/processes.js';
import { ensureBuilt, runCli } from './run-cli.js';

beforeAll(() => ensureBuilt());

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A plain TCP listener: "something else" on a port. */
async function squatter(): Promise<number> {
  const srv: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => srv.close(r)));
  return (srv.address() as { port: number }).port;
}

/** Something that answers jarvis's health probe like our own JARVIS. */
async function ourJarvis(): Promise<number> {
  const app = Fastify();
  app.get('/health', async () => ({ status: 'healthy', service: 'jarvis' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  return (app.server.address() as { port: number }).port;
}

/** Settings under which training can run on any test machine. */
const FINE = { TRAINING_MEMORY_RESERVE_GB: '0.1', MAX_TOTAL_MEMORY_GB: '0.5', REACTOR_CORE_PORT: '0', JARVIS_PRIME_PORT: '0', JARVIS_PORT: '0' };

describe('trinity doctor', () => {
  it('prints one ✓ line per check and exits 0 when nothing stops training, leaving the home as it found it', async () => {
    const home = tempHome('trinity-doctor-');
    const r = await runCli(['doctor'], home, { env: FINE });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    for (const name of ['node', 'host memory', 'MAX_TOTAL_MEMORY_GB', 'JARVIS_HOME', 'disk', 'ports', 'binding', 'auto-training']) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^  ✓ ${name}: `)));
    }
    expect(r.stdout).toContain(`✓ node: Node ${process.version} (`);
    expect(r.stdout).toContain(`✓ JARVIS_HOME: ${home} is writable`);
    expect(lines.at(-1)).toBe('✓ nothing stops training on this machine');
    // The write test cleans up after itself.
    expect(readdirSync(home)).toEqual([]);
  });

  it('names each problem with its fix and exits 1: a port someone else holds, an unwritable home, an open bind', async () => {
    const taken = await squatter();
    const ours = await ourJarvis();
    const dir = tempHome('trinity-doctor-');
    // A file where a folder should be: not writable even for root.
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    const home = join(dir, 'not-a-folder', 'home');
    const env = { ...FINE, REACTOR_CORE_PORT: String(taken), JARVIS_PORT: String(ours), JARVIS_PRIME_ENABLED: 'false', JARVIS_HOST: '0.0.0.0', AUTO_TRAINING_ENABLED: 'false' };
    const r = await runCli(['doctor'], dir, { env: { ...env, JARVIS_HOME: home } });
    expect(r.code).toBe(1);
    const out = r.stdout;
    expect(out).toMatch(new RegExp(`^  ✗ ports: Reactor-Core 127\\.0\\.0\\.1:${taken} is taken by process ${process.pid} \\(node\\) → stop it, or set REACTOR_CORE_PORT to a free port$`, 'm'));
    expect(out).toMatch(/^ {2}✗ JARVIS_HOME: cannot write to .*not-a-folder \(JARVIS_HOME .* does not exist yet\): ENOTDIR → give this user write access/m);
    expect(out).toMatch(/^ {2}✗ binding: JARVIS_HOST=0\.0\.0\.0 without TRINITY_API_TOKEN: those services refuse to start → set TRINITY_API_TOKEN/m);
    expect(out).toMatch(/^ {2}! auto-training: AUTO_TRAINING_ENABLED=false/m);
    expect(out.trim().split('\n').at(-1)).toBe('✗ 3 problems stop training on this machine');

    // --json: the same checks for scripts; our own JARVIS on its port is no problem.
    mkdirSync(join(dir, 'home'));
    const j = await runCli(['doctor', '--json'], dir, { env: { ...env, JARVIS_HOME: join(dir, 'home'), JARVIS_HOST: '127.0.0.1', REACTOR_CORE_PORT: '0' } });
    expect(j.code).toBe(0);
    const body = JSON.parse(j.stdout) as { blocks_training: boolean; checks: { name: string; status: string; detail: string; fix: string | null }[] };
    expect(body.blocks_training).toBe(false);
    expect(body.checks.find((c) => c.name === 'ports')).toMatchObject({
      status: 'ok',
      detail: `Reactor-Core picks a free port (REACTOR_CORE_PORT=0); J-Prime is off (JARVIS_PRIME_ENABLED=false); JARVIS 127.0.0.1:${ours} is our own JARVIS, running (healthy); trinity up adopts it`,
    });
  });
});
