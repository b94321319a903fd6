/**
 * J-Prime under concurrent load: nlu predictions (POST /api/predict/nlu) through the real `trinity prime`
 * process serving a model trained on SNIPS, next to a bare Fastify handler answering the same requests with
 * a fixed answer of the same shape (the ceiling), and to prime's own HTTP stack answering that fixed
 * prediction without a model (peers/prime-stack-fixed.mjs: what the stack alone leaves for a model). The
 * load comes from processes of their own (lib/http-load.ts): wrk flat out for throughput, evenly spaced
 * requests for latency at 1,000 req/s. All three servers get the same SNIPS test texts with session ids,
 * in alternating rounds, and each figure is the median of the rounds. Targets (issue 4, raised by issue
 * 15): prime ≥ 60 % of the bare handler's throughput, and p99 ≤ 5 ms at 1,000 req/s.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsvRows } from './lib/data.js';
import { BIN, launch, until } from './lib/services.js';
import { ensureWrk, measureAtRate, measureThroughput, type LoadTarget, type RateFigures, type ThroughputFigures } from './lib/http-load.js';
import type { BenchResult } from './lib/report.js';
import { metCell } from './lib/targets.js';
import { median } from './lib/stats.js';

const SECONDS = 4;
const ROUNDS = 5;
/** wrk's connections flat out (one wrk thread: the server under test keeps the other core). */
const CONNECTIONS = 32;
const RATE = 1000;
const RATE_CONNECTIONS = 16;
/** Distinct session ids cycled through with the texts (the sticky split hashes each one). */
const SESSIONS = 500;
/** Issue 4 asked for 50 %; issue 15 (the onnxruntime engine) asks that it stays at or above 60 %. */
const TARGET_RATIO = 0.6;
const TARGET_P99_MS = 5;

/** Each figure's median over the rounds; errors summed. */
function summarize<T extends { errors: number }>(runs: T[], keys: (keyof T)[]): Record<string, number> {
  const out: Record<string, number> = { errors: runs.reduce((s, r) => s + r.errors, 0) };
  for (const k of keys) out[k as string] = median(runs.map((r) => r[k] as number));
  return out;
}

export async function benchPrime(): Promise<BenchResult> {
  const home = mkdtempSync(join(tmpdir(), 'trinity-bench-prime-'));
  const procs: ChildProcess[] = [];
  try {
    const reactor = await launch([BIN, 'reactor', '--port', '0'], { JARVIS_HOME: home });
    procs.push(reactor.proc);
    const reactorUrl = `http://127.0.0.1:${reactor.port}`;
    const train = readCsvRows('nlu-snips/train.csv');
    const experiences = train.map(([text, intent], i) => ({ id: `p-${i}`, type: 'command', input: { text }, expected_output: { intent }, success: true }));
    await fetch(`${reactorUrl}/api/training/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job_id: 'bench', model_type: 'nlu', experiences, epochs: 2 }) });
    await until(async () => ((await (await fetch(`${reactorUrl}/api/training/status/bench`)).json()) as { status: string }).status === 'completed', 'training');
    const prime = await launch([BIN, 'prime', '--port', '0'], { JARVIS_HOME: home, REACTOR_CORE_API_URL: reactorUrl });
    procs.push(prime.proc);
    const bodies = readCsvRows('nlu-snips/test.csv').map(([text], i) => JSON.stringify({ input: { text }, session_id: `session-${i % SESSIONS}` }));
    const primeTarget: LoadTarget = { url: `http://127.0.0.1:${prime.port}/api/predict/nlu`, pid: prime.proc.pid! };
    await until(
      async () => (await fetch(primeTarget.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] })).status === 200,
      'prime to serve',
    );
    const bare = await launch([fileURLToPath(new URL('../../bench/peers/bare-fastify.mjs', import.meta.url))], {});
    procs.push(bare.proc);
    const bareTarget: LoadTarget = { url: `http://127.0.0.1:${bare.port}/api/predict/nlu`, pid: bare.proc.pid! };
    const stack = await launch([fileURLToPath(new URL('../../bench/peers/prime-stack-fixed.mjs', import.meta.url))], {});
    procs.push(stack.proc);
    const stackTarget: LoadTarget = { url: `http://127.0.0.1:${stack.port}/api/predict/nlu`, pid: stack.proc.pid! };
    const targets = [primeTarget, bareTarget, stackTarget];

    const noWrk = ensureWrk();
    const max: ThroughputFigures[][] = targets.map(() => []);
    const fixed: RateFigures[][] = targets.map(() => []);
    const loadBefore = loadavg()[0];
    // Warm-up (JIT, connection pools), not counted.
    for (const t of targets) await measureAtRate(t, bodies, 2 * RATE, 2, RATE_CONNECTIONS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, t] of targets.entries()) {
        if (noWrk === null) max[i].push(await measureThroughput(t, bodies, SECONDS, CONNECTIONS));
        fixed[i].push(await measureAtRate(t, bodies, RATE, SECONDS, RATE_CONNECTIONS));
      }
    }
    const loadAfter = loadavg()[0];

    const [pMax, bMax, sMax] = max.map((runs) => summarize(runs, ['rps', 'p99Ms', 'cpuUsPerRequest']));
    const [pFixed, bFixed, sFixed] = fixed.map((runs) => summarize(runs, ['rps', 'p50Ms', 'p99Ms', 'maxSendLagMs']));
    const ratio = pMax.rps / bMax.rps;
    const ratios = max[0].map((p, r) => p.rps / max[1][r].rps);
    const stackRatios = max[2].map((s, r) => s.rps / max[1][r].rps);
    const roundPercents = (rs: number[]) => rs.map((r) => `${(r * 100).toFixed(0)} %`).join(', ');
    const row = (system: string, m: Record<string, number> | undefined, f: Record<string, number>) => ({
      system,
      'req/s flat out': m?.rps ?? NaN,
      'p99 ms flat out': m?.p99Ms ?? NaN,
      'server CPU µs/req': m?.cpuUsPerRequest ?? NaN,
      [`p50 ms @${RATE}/s`]: f.p50Ms,
      [`p99 ms @${RATE}/s`]: f.p99Ms,
      errors: String((m?.errors ?? 0) + f.errors),
    });
    return {
      title: `J-Prime nlu predictions under load (load from separate processes; ${ROUNDS} alternating rounds of ${SECONDS} s, medians)`,
      command: 'npm run bench -- prime',
      rows: [
        row('trinity prime (real nlu model)', pMax, pFixed),
        row("prime's HTTP stack, fixed answer (no model)", sMax, sFixed),
        row('bare Fastify handler (ceiling)', bMax, bFixed),
      ],
      notes: [
        noWrk === null
          ? `throughput: wrk -t1 -c${CONNECTIONS}, ${bodies.length} SNIPS test texts with ${SESSIONS} session ids in turn; prime reaches ${(ratio * 100).toFixed(0)} % of the bare handler (rounds: ${roundPercents(ratios)}; target ≥ ${TARGET_RATIO * 100} %): ${metCell(ratio >= TARGET_RATIO)}`
          : `throughput not measured: ${noWrk}`,
        ...(noWrk === null
          ? [
              `prime's own HTTP stack answering a fixed prediction without a model reaches ${((sMax.rps / bMax.rps) * 100).toFixed(0)} % of the bare handler (rounds: ${roundPercents(stackRatios)}): the most any model could leave prime; the nlu model costs the rest of the gap`,
            ]
          : []),
        `latency: ${RATE} evenly spaced req/s over ≤ ${RATE_CONNECTIONS} keep-alive connections (achieved ${pFixed.rps.toFixed(0)} and ${bFixed.rps.toFixed(0)} req/s, sends at most ${Math.max(pFixed.maxSendLagMs, bFixed.maxSendLagMs).toFixed(1)} ms late); prime p99 ${pFixed.p99Ms.toFixed(2)} ms (target ≤ ${TARGET_P99_MS} ms): ${metCell(pFixed.p99Ms <= TARGET_P99_MS)}`,
        `server CPU per request (user + system, from /proc) is what other load on the machine disturbs least: prime needs ${(pMax.cpuUsPerRequest / bMax.cpuUsPerRequest).toFixed(2)}× the bare handler's; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`,
      ],
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(home, { recursive: true, force: true });
  }
}
