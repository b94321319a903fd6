/**
 * HTTP load from a process of its own, so the load generator does not compete with the bench's event loop
 * (on a 2-core machine the server gets one core, the generator the other): wrk (Debian's, installed when
 * missing) flat out for throughput, and fixed-rate-load.ts for latency at a fixed rate. Both cycle
 * through the same request bodies, and both report the server process's CPU time per request, which
 * other load on the machine disturbs less than requests per second do.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from '../../src/util/proc.js';
import { ensureDebianPackage } from './debian.js';
import type { FixedRateFigures, FixedRateJob } from './fixed-rate-load.js';
import { withTempDir } from './temp.js';

/** A server under test: where to POST, and its process for the CPU figure. */
export interface LoadTarget {
  url: string;
  pid: number;
}

export interface ThroughputFigures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers, connection errors and timeouts. */
  errors: number;
  /** Server CPU (user + system, all threads) per request, in microseconds. */
  cpuUsPerRequest: number;
}

export type RateFigures = FixedRateFigures & { cpuUsPerRequest: number };

/** Ensures wrk is there, installing Debian's package when missing. Returns why not, or null. */
export function ensureWrk(): string | null {
  return ensureDebianPackage('wrk', () => spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined, 'the load generator');
}

/** A Lua string literal of any text (UTF-8 bytes pass through). */
function luaString(s: string): string {
  return `"${s.replace(/[\\"\n\r\0]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\0': '\\0' })[c]!)}"`;
}

/** A wrk script POSTing `bodies` in turn, printing its figures as one JSON line at the end. */
function wrkScript(path: string, bodies: readonly string[]): string {
  return `local bodies = {${bodies.map(luaString).join(',\n')}}
local reqs, i = {}, 0
init = function(args)
  for k, b in ipairs(bodies) do reqs[k] = wrk.format("POST", ${luaString(path)}, {["content-type"] = "application/json"}, b) end
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"micros":%d,"errors":%d,"p50":%d,"p99":%d}\\n', summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
end
`;
}

function run(cmd: string, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err || out}`))));
    child.stdin.end(stdin ?? '');
  });
}

const lastJsonLine = <T>(out: string): T => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!) as T;

/** The CPU time the target's process spends on `work`, per request it reports. */
async function withServerCpu<T extends { requests: number }>(pid: number, work: () => Promise<T>): Promise<T & { cpuUsPerRequest: number }> {
  const before = cpuSeconds(pid);
  const figures = await work();
  return { ...figures, cpuUsPerRequest: ((cpuSeconds(pid) - before) * 1e6) / figures.requests };
}

/** Flat out with wrk: one thread, `connections` keep-alive connections, for `seconds`. */
export async function measureThroughput(target: LoadTarget, bodies: readonly string[], seconds: number, connections: number): Promise<ThroughputFigures> {
  const url = new URL(target.url);
  return withTempDir('wrk', async (dir) => {
    const script = join(dir, 'bodies.lua');
    writeFileSync(script, wrkScript(url.pathname, bodies));
    const f = await withServerCpu(target.pid, async () =>
      lastJsonLine<{ requests: number; micros: number; errors: number; p50: number; p99: number }>(
        await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, url.origin]),
      ),
    );
    return { rps: f.requests / (f.micros / 1e6), p50Ms: f.p50 / 1000, p99Ms: f.p99 / 1000, errors: f.errors, cpuUsPerRequest: f.cpuUsPerRequest };
  });
}

/** Evenly spaced requests at `rate` per second from fixed-rate-load.ts in a child process. */
export async function measureAtRate(target: LoadTarget, bodies: readonly string[], rate: number, seconds: number, connections: number): Promise<RateFigures> {
  const job: FixedRateJob = { url: target.url, bodies: [...bodies], rate, seconds, connections };
  const child = fileURLToPath(new URL('./fixed-rate-load.js', import.meta.url));
  return withServerCpu(target.pid, async () => lastJsonLine<FixedRateFigures>(await run(process.execPath, [child, '--child'], JSON.stringify(job))));
}
