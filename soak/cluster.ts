/**
 * The three services as real `trinity <service>` processes on fixed loopback ports (picked free at
 * start, kept across restarts so the others still find them) sharing one temporary JARVIS_HOME.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type ServiceName = 'reactor' | 'prime' | 'jarvis';
export const SERVICES: readonly ServiceName[] = ['reactor', 'prime', 'jarvis'];

/** How long a (re)started service may take to answer health 200. */
export const HEALTHY_TIMEOUT_MS = 60_000;
/** Output kept per process for failure messages. */
const OUTPUT_KEEP_CHARS = 16_000;

/** The repository root, found from this file whether it runs from soak/ (vitest) or dist-soak/soak/. */
export function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'bin/trinity.js'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`bin/trinity.js not found above ${import.meta.dirname}`);
    dir = up;
  }
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes (then null). */
export async function pollUntil<T>(check: () => Promise<T | null | false | undefined> | T | null | false | undefined, timeoutMs: number, everyMs = 100): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) return null;
    await sleep(everyMs);
  }
}

interface Running {
  proc: ChildProcess;
  output: string;
  exited: Promise<void>;
}

export class Cluster {
  /** Every cluster created in this process, so an interrupted soak can stop what it started. */
  private static readonly live = new Set<Cluster>();
  readonly home: string;
  readonly ports: Record<ServiceName, number>;
  private readonly running = new Map<ServiceName, Running>();
  private readonly bin = join(repoRoot(), 'bin/trinity.js');
  // The project's own Node (what npm scripts run on): started directly, so a SIGKILL reaches the service
  // itself and not bin/trinity.js's hand-over process from an older system Node.
  private readonly node = existsSync(join(repoRoot(), 'node_modules/.bin/node')) ? join(repoRoot(), 'node_modules/.bin/node') : process.execPath;

  private constructor(home: string, ports: Record<ServiceName, number>, private readonly env: Record<string, string>) {
    this.home = home;
    this.ports = ports;
  }

  /** A cluster description with a new temporary home (or `home`) and three free ports; nothing runs yet. */
  static async create(env: Record<string, string> = {}, home?: string): Promise<Cluster> {
    const ports = { reactor: await freePort(), prime: await freePort(), jarvis: await freePort() };
    const cluster = new Cluster(home ?? mkdtempSync(join(tmpdir(), 'trinity-soak-')), ports, env);
    Cluster.live.add(cluster);
    return cluster;
  }

  /** SIGKILLs every service of every cluster of this process (Ctrl-C on the soak). */
  static killAll(): void {
    for (const c of Cluster.live) for (const r of c.running.values()) r.proc.kill('SIGKILL');
  }

  url(service: ServiceName): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  pid(service: ServiceName): number | null {
    return this.running.get(service)?.proc.pid ?? null;
  }

  isRunning(service: ServiceName): boolean {
    const r = this.running.get(service);
    return r !== undefined && r.proc.exitCode === null && r.proc.signalCode === null;
  }

  output(service: ServiceName): string {
    return this.running.get(service)?.output ?? '';
  }

  private environment(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      JARVIS_HOME: this.home,
      LOG_LEVEL: 'warn',
      REACTOR_CORE_PORT: String(this.ports.reactor),
      JARVIS_PRIME_PORT: String(this.ports.prime),
      JARVIS_PORT: String(this.ports.jarvis),
      REACTOR_CORE_API_URL: this.url('reactor'),
      JARVIS_PRIME_URL: this.url('prime'),
      ...this.env,
    };
  }

  /** Spawns the service and waits for health 200; throws with its output when it does not get there. */
  async start(service: ServiceName): Promise<void> {
    if (this.isRunning(service)) throw new Error(`${service} is already running`);
    const proc = spawn(this.node, [this.bin, service, '--port', String(this.ports[service])], {
      env: this.environment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r: Running = { proc, output: '', exited: new Promise((resolve) => proc.once('exit', () => resolve())) };
    const keep = (d: Buffer) => {
      r.output = (r.output + d.toString()).slice(-OUTPUT_KEEP_CHARS);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    this.running.set(service, r);
    const healthy = await pollUntil(async () => {
      if (!this.isRunning(service)) throw new Error(`${service} exited with ${proc.exitCode ?? proc.signalCode} while starting:\n${r.output}`);
      const res = await fetch(`${this.url(service)}/api/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
      return res?.status === 200;
    }, HEALTHY_TIMEOUT_MS);
    if (!healthy) throw new Error(`${service} did not answer health 200 within ${HEALTHY_TIMEOUT_MS} ms:\n${r.output}`);
  }

  /** Sends `signal` and waits for the process to exit (SIGKILL after `graceMs` if it does not). */
  async stop(service: ServiceName, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    const r = this.running.get(service);
    if (!r) return;
    if (this.isRunning(service)) r.proc.kill(signal);
    const done = await Promise.race([r.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      r.proc.kill('SIGKILL');
      await r.exited;
    }
  }

  async stopAll(): Promise<void> {
    // jarvis first: it flushes its outbox into the events folder reactor would ingest.
    for (const s of ['jarvis', 'prime', 'reactor'] as const) await this.stop(s);
  }
}

/** Pids of live (non-zombie) processes whose parent is `ppid`. */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Whether `pid` runs and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
