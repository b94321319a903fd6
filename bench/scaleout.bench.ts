/**
 * Scale-out (issue 16): what more training runners buy and what the shared database costs.
 * - Jobs per minute: a reactor that leaves training to workers (TRAINING_WORKERS=external) and 1 or 2
 *   `trinity worker` processes on its database, finishing the same 6 queued nlu jobs; alternating rounds.
 * - The event log: JobStore.appendEvent per second (each event one transaction, as a trainer's are), the
 *   reactor's SSE stream of a 20,000-event log read end to end, and JobClaims.claimNext latency with
 *   1,000 queued jobs.
 * Postgres (TRINITY_BENCH_POSTGRES_URL, default the local server, in a schema of its own dropped after):
 * the event-log appends and claims through the same JobStore on the store seam, with fewer events (each
 * append is a few round trips). Its jobs/min and stream columns wait until services run on Postgres
 * (docs/decisions.md, issue 16 item 1); they say so rather than showing a number.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { openDatabase } from '../src/store/database.js';
import { migratePostgres } from '../src/store/open-sql.js';
import { connectPostgres, SqliteSql, type SqlDb } from '../src/store/sql.js';
import { JobStore } from '../src/training/jobs-store.js';
import { thisProcess } from '../src/util/process-identity.js';
import { readCsvRows } from './lib/data.js';
import type { BenchResult } from './lib/report.js';
import { BIN, launch, until } from './lib/services.js';
import { median, percentile } from './lib/stats.js';

const JOBS = 6;
const ROUNDS = 2;
const EVENTS = 20_000;
const QUEUED = 1_000;
const PG_EVENTS = 2_000;
const PG_URL = process.env.TRINITY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Minutes per job batch: 6 nlu jobs of ~1,200 SNIPS rows, 3 epochs each, on `workers` worker processes. */
async function jobsPerMinute(workers: number, round: number): Promise<number> {
  const home = mkdtempSync(join(tmpdir(), 'trinity-bench-scaleout-'));
  const procs: ChildProcess[] = [];
  try {
    const env = { JARVIS_HOME: home, TRINITY_ARTIFACT_DIR: join(home, 'artifacts'), TRAINING_LEASE_TTL: '5' };
    const reactor = await launch([BIN, 'reactor', '--port', '0'], { ...env, TRAINING_WORKERS: 'external' });
    procs.push(reactor.proc);
    for (let w = 0; w < workers; w++) procs.push((await launch([BIN, 'worker', '--port', '0'], env)).proc);
    const rows = readCsvRows('nlu-snips/train.csv');
    const ids = Array.from({ length: JOBS }, (_, k) => `r${round}-w${workers}-${k}`);
    const t0 = performance.now();
    for (const [k, jobId] of ids.entries()) {
      const experiences = rows
        .filter((_, i) => i % 10 === k)
        .map(([text, intent], i) => ({ id: `${jobId}-${i}`, type: 'command', input: { text }, expected_output: { intent }, success: true }));
      const res = await fetch(`${reactor.url}/api/training/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job_id: jobId, model_type: 'nlu', experiences, epochs: 3 }) });
      if (!res.ok) throw new Error(`start ${jobId}: ${res.status} ${await res.text()}`);
    }
    const done = async (id: string) => ((await (await fetch(`${reactor.url}/api/training/status/${id}`)).json()) as { status: string }).status;
    await until(async () => (await Promise.all(ids.map(done))).every((s) => s === 'completed'), `${JOBS} jobs on ${workers} worker(s)`, 600_000);
    return JOBS / ((performance.now() - t0) / 60_000);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
}

interface StoreFigures {
  appendsPerSecond: number;
  claimMedianMs: number;
  claimP99Ms: number;
}

interface LogFigures extends StoreFigures {
  streamEventsPerSecond: number;
}

/** `events` appends to one job's log, one transaction each; then 200 claims with QUEUED jobs queued. */
async function storeFigures(sql: SqlDb, events: number): Promise<StoreFigures> {
  const jobs = new JobStore(sql);
  await jobs.create({ jobId: 'log', modelType: 'nlu', request: {}, totalEpochs: events });
  const t0 = performance.now();
  for (let i = 1; i <= events; i++) {
    await jobs.appendEvent('log', i === events ? 'completed' : 'status', { job_id: 'log', status: 'training', epoch: i, loss: 1 / i, accuracy: 0.5 }, i === events ? { status: 'completed' } : undefined);
  }
  const appendsPerSecond = events / ((performance.now() - t0) / 1000);

  for (let i = 0; i < QUEUED; i++) await jobs.create({ jobId: `q-${String(i).padStart(5, '0')}`, modelType: 'nlu', request: {}, totalEpochs: 1 });
  const owner = thisProcess();
  const claimMs: number[] = [];
  for (let i = 0; i < 200; i++) {
    const c0 = performance.now();
    await jobs.claims.claimNext(`bench-${i}`, owner, 60, Date.now() / 1000);
    claimMs.push(performance.now() - c0);
  }
  return { appendsPerSecond, claimMedianMs: median(claimMs), claimP99Ms: percentile(claimMs, 99) };
}

/** storeFigures on Postgres; a reason instead when it cannot be reached. */
export async function postgresFigures(): Promise<StoreFigures | string> {
  let admin;
  try {
    admin = await connectPostgres({ url: PG_URL, max: 1 });
  } catch (err) {
    return `unreachable: ${(err as Error).message}`;
  }
  const schema = `trinity_bench_${process.pid}`;
  try {
    await admin.run(`CREATE SCHEMA ${schema}`);
    const db = await connectPostgres({ url: PG_URL, schema });
    try {
      await migratePostgres(db);
      return await storeFigures(db, PG_EVENTS);
    } finally {
      await db.close();
    }
  } finally {
    await admin.run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.close();
  }
}

export async function eventLogFigures(): Promise<LogFigures> {
  const home = mkdtempSync(join(tmpdir(), 'trinity-bench-scaleout-log-'));
  const procs: ChildProcess[] = [];
  try {
    const db = openDatabase({ path: join(home, 'trinity.db') });
    const figures = await storeFigures(new SqliteSql(db), EVENTS);
    db.close();

    const reactor = await launch([BIN, 'reactor', '--port', '0'], { JARVIS_HOME: home, TRAINING_WORKERS: 'external' });
    procs.push(reactor.proc);
    const s0 = performance.now();
    const res = await fetch(`${reactor.url}/api/training/stream/log`, { headers: { accept: 'text/event-stream' } });
    let events = 0;
    const decoder = new TextDecoder();
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) events += (decoder.decode(chunk, { stream: true }).match(/^id: /gm) ?? []).length;
    const streamEventsPerSecond = events / ((performance.now() - s0) / 1000);
    if (events !== EVENTS) throw new Error(`the stream gave ${events} events of ${EVENTS}`);
    return { ...figures, streamEventsPerSecond };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
}

export async function benchScaleout(): Promise<BenchResult> {
  const rates: Record<1 | 2, number[]> = { 1: [], 2: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const workers of [1, 2] as const) rates[workers].push(await jobsPerMinute(workers, round));
  }
  const log = await eventLogFigures();
  const pg = await postgresFigures();
  const pending = 'not yet (issue 16 item 1)';
  const claimCell = (f: StoreFigures) => `${f.claimMedianMs.toFixed(2)} / ${f.claimP99Ms.toFixed(2)}`;
  return {
    title: `scale-out: ${JOBS} queued nlu jobs on 1 and 2 worker processes (${ROUNDS} alternating rounds, medians); the event log on each store`,
    command: 'npm run bench -- scaleout',
    firstColumn: 'store',
    rows: [
      {
        system: 'SQLite (JARVIS_HOME/trinity.db)',
        'jobs/min, 1 worker': median(rates[1]),
        'jobs/min, 2 workers': median(rates[2]),
        'event appends/s': log.appendsPerSecond,
        'stream events/s': log.streamEventsPerSecond,
        'claim ms (median / p99)': claimCell(log),
      },
      {
        system: 'Postgres (TRINITY_DATABASE_URL)',
        'jobs/min, 1 worker': pending,
        'jobs/min, 2 workers': pending,
        'event appends/s': typeof pg === 'string' ? pg : pg.appendsPerSecond,
        'stream events/s': pending,
        'claim ms (median / p99)': typeof pg === 'string' ? pg : claimCell(pg),
      },
    ],
    notes: [
      `jobs/min per round: 1 worker ${rates[1].map((r) => r.toFixed(1)).join(', ')}; 2 workers ${rates[2].map((r) => r.toFixed(1)).join(', ')} (2 workers ÷ 1: ${(median(rates[2]) / median(rates[1])).toFixed(2)}×; each trainer uses one core)`,
      `event appends: ${EVENTS.toLocaleString('en-US')} JobStore.appendEvent calls (Postgres: ${PG_EVENTS.toLocaleString('en-US')}), one transaction each; stream: GET /api/training/stream of that log over SSE, read to its end; claims: 200 JobClaims.claimNext with ${QUEUED.toLocaleString('en-US')} queued jobs`,
    ],
  };
}
