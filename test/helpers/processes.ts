/**
 * Real `trinity` processes for end-to-end tests: a temporary JARVIS_HOME, an ephemeral port, and a
 * handle to kill or stop them. The compiled CLI in dist/ is used (npm test builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/trinity.js');
/** The data sets shipped with the project (data/README.md): the one place the tests name the folder. */
export const DATA_DIR = join(ROOT, 'data');

const madeHomes: string[] = [];

/** A new empty folder under the system temp folder, removed after the test file (test/setup.ts). */
export function tempHome(prefix = 'trinity-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeHomes.push(dir);
  return dir;
}

/** Removes every folder tempHome made in this test file. */
export function removeTempHomes(): void {
  for (const dir of madeHomes.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface ServiceProcess {
  proc: ChildProcess;
  url: string;
  port: number;
  /** stderr and stdout so far, for assertion messages. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const LISTENING = /listening on port (\d+)/;

type ServiceName = 'reactor' | 'prime' | 'jarvis' | 'worker';

/** A spawned `trinity <service>`, not waited for (e.g. to send requests while it starts). */
export interface SpawnedService {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `trinity <service>` on `env.PORT` (default 0) and returns at once. */
export function spawnService(service: ServiceName, home: string, env: Record<string, string> = {}): SpawnedService {
  const proc = spawn(process.execPath, [BIN, service, '--port', env.PORT ?? '0'], {
    env: { ...process.env, JARVIS_HOME: home, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    output: () => out,
    exited,
    kill: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Starts `trinity <service>` and resolves once it answers `healthy`. */
export async function startService(service: ServiceName, home: string, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ServiceProcess> {
  const { proc, output, exited, kill } = spawnService(service, home, env);
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${service} did not start in ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    const check = () => {
      const m = LISTENING.exec(output());
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${service} exited with ${code} before listening:\n${output()}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/api/health`).catch(() => null))?.status === 200, timeoutMs, `${service} healthy`);
  return { proc, url, port, output, kill };
}

export async function waitFor<T>(check: () => Promise<T | false | null | undefined> | T | false | null | undefined, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function getJson<T = Record<string, unknown>>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export function postJson<T = Record<string, unknown>>(url: string, body: unknown): Promise<{ status: number; body: T }> {
  return getJson<T>(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** A port that was free a moment ago (for services that must know each other's port before starting). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}
