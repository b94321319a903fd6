/**
 * J-Prime under concurrent load: nlu predictions through the real `trinity prime` process, at a fixed
 * 1,000 requests/s (latency) and flat out (throughput), next to a bare Fastify handler on the same
 * machine as the ceiling. Target: p99 ≤ 5 ms at 1,000 req/s and ≥ 50 % of the bare handler's throughput.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { readCsvRows } from './lib/data.js';
import type { BenchResult } from './lib/report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/trinity.js');
const SECONDS = 8;

function launch(args: string[], env: Record<string, string>): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, args, { env: { ...process.env, LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on port (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
  });
}

async function until(check: () => Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function load(url: string, body: string, overallRate?: number) {
  const r = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: overallRate ? 16 : 10,
    duration: SECONDS,
    ...(overallRate ? { overallRate } : {}),
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

export async function benchPrime(): Promise<BenchResult> {
  const home = mkdtempSync(join(tmpdir(), 'trinity-bench-prime-'));
  const procs: ChildProcess[] = [];
  try {
    const reactor = await launch([BIN, 'reactor', '--port', '0'], { JARVIS_HOME: home });
    procs.push(reactor.proc);
    const reactorUrl = `http://127.0.0.1:${reactor.port}`;
    const rows = readCsvRows('nlu-snips/train.csv');
    const experiences = rows.map(([text, intent], i) => ({ id: `p-${i}`, type: 'command', input: { text }, expected_output: { intent }, success: true }));
    await fetch(`${reactorUrl}/api/training/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job_id: 'bench', model_type: 'nlu', experiences, epochs: 2 }) });
    await until(async () => ((await (await fetch(`${reactorUrl}/api/training/status/bench`)).json()) as { status: string }).status === 'completed', 'training');
    const prime = await launch([BIN, 'prime', '--port', '0'], { JARVIS_HOME: home, REACTOR_CORE_API_URL: reactorUrl });
    procs.push(prime.proc);
    const primeUrl = `http://127.0.0.1:${prime.port}/api/predict/nlu`;
    const body = JSON.stringify({ input: { text: 'play the latest album by daft punk on spotify' }, session_id: 'bench' });
    await until(async () => (await fetch(primeUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status === 200, 'prime to serve');
    const bare = await launch([fileURLToPath(new URL('../../bench/peers/bare-fastify.mjs', import.meta.url))], {});
    procs.push(bare.proc);
    const bareUrl = `http://127.0.0.1:${bare.port}/api/predict/nlu`;

    await load(primeUrl, body, 500); // warm-up
    const primeFixed = await load(primeUrl, body, 1000);
    const primeMax = await load(primeUrl, body);
    const bareFixed = await load(bareUrl, body, 1000);
    const bareMax = await load(bareUrl, body);
    return {
      title: `J-Prime nlu predictions under load (${SECONDS} s per run, autocannon in the bench process)`,
      command: 'npm run bench -- prime',
      rows: [
        { system: 'trinity prime (real nlu model)', 'p50 ms @1000/s': primeFixed.p50, 'p99 ms @1000/s': primeFixed.p99, 'max req/s': primeMax.rps, 'p99 ms @max': primeMax.p99, errors: primeFixed.errors + primeMax.errors },
        { system: 'bare Fastify handler (ceiling)', 'p50 ms @1000/s': bareFixed.p50, 'p99 ms @1000/s': bareFixed.p99, 'max req/s': bareMax.rps, 'p99 ms @max': bareMax.p99, errors: bareFixed.errors + bareMax.errors },
      ],
      notes: [`prime reaches ${((primeMax.rps / bareMax.rps) * 100).toFixed(0)} % of the bare handler's throughput (target ≥ 50 %); targets: p99 ≤ 5 ms at 1,000 req/s.`],
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(home, { recursive: true, force: true });
  }
}
