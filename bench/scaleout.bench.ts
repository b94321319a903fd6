/**
 * Scale-out (issue 16): what more training runners buy and what the shared database costs.
 * - Jobs per minute: a reactor that leaves training to workers (TRAINING_WORKERS=external) and 1 or 2
 *   `trinity worker` processes on its database, finishing the same 6 queued nlu jobs; alternating rounds.
 * - The event log: JobStore.appendEvent per second (each event one transaction, as a trainer's are), the
 *   reactor's SSE stream of a 20,000-event log read end to end, and JobClaims.claimNext latency with
 *   1,000 queued jobs.
 * Each figure on SQLite (JARVIS_HOME/trinity.db) and on Postgres (TRINITY_BENCH_POSTGRES_URL, default the
 * local server; a database of its own per measurement, dropped after): the services get TRINITY_DATABASE_URL
 * and each runs in its own JARVIS_HOME, as on separate machines. Postgres gets fewer events (each append
 * is a few round trips); when it cannot be reached its row says why.
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

type StoreName = 'sqlite' | 'postgres';

/** A database for one measurement: SQLite in `home`, or a fresh Postgres database; `drop` removes it. */
async function database(store: StoreName, home: string): Promise<{ env: Record<string, string>; sql: () => Promise<SqlDb>; drop: () => Promise<void> }> {
  if (store === 'sqlite') {
    return { env: {}, sql: async () => new SqliteSql(openDatabase({ path: join(home, 'trinity.db') })), drop: async () => undefined };
  }
  const name = `trinity_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = await connectPostgres({ url: PG_URL, max: 1 });
  await admin.run(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    env: { TRINITY_DATABASE_URL: url.toString() },
    sql: async () => {
      const db = await connectPostgres({ url: url.toString() });
      await migratePostgres(db);
      return db;
    },
    drop: async () => {
      await admin.run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    },
  };
}

/** Minutes per job batch: 6 nlu jobs of ~1,200 SNIPS rows, 3 epochs each, on `workers` worker processes. */
async function jobsPerMinute(store: StoreName, workers: number, round: number): Promise<number> {
  const home = mkdtempSync(join(tmpdir(), 'trinity-bench-scaleout-'));
  const db = await database(store, home);
  const procs: ChildProcess[] = [];
  // On Postgres each process has a home of its own: only the database and the artifact folder are shared.
  const homeOf = (k: number) => (store === 'sqlite' ? home : mkdtempSync(join(home, `node${k}-`)));
  try {
    const env = { ...db.env, TRINITY_ARTIFACT_DIR: join(home, 'artifacts'), TRAINING_LEASE_TTL: '5' };
    const reactor = await launch([BIN, 'reactor', '--port', '0'], { ...env, JARVIS_HOME: homeOf(0), TRAINING_WORKERS: 'external' });
    procs.push(reactor.proc);
    for (let w = 0; w < workers; w++) procs.push((await launch([BIN, 'worker', '--port', '0'], { ...env, JARVIS_HOME: homeOf(w + 1) })).proc);
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
    await db.drop();
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

/** Appends and claims through the JobStore, then the reactor's SSE stream of that log read to its end. */
async function eventLogFigures(store: StoreName, events: number): Promise<LogFigures> {
  const home = mkdtempSync(join(tmpdir(), 'trinity-bench-scaleout-log-'));
  const db = await database(store, home);
  const procs: ChildProcess[] = [];
  try {
    const sql = await db.sql();
    const figures = await storeFigures(sql, events);
    await sql.close();

    const reactor = await launch([BIN, 'reactor', '--port', '0'], { ...db.env, JARVIS_HOME: home, TRAINING_WORKERS: 'external' });
    procs.push(reactor.proc);
    const s0 = performance.now();
    const res = await fetch(`${reactor.url}/api/training/stream/log`, { headers: { accept: 'text/event-stream' } });
    let streamed = 0;
    let partial = ''; // a line cut by a chunk boundary is counted with the next chunk
    const decoder = new TextDecoder();
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      const text = partial + decoder.decode(chunk, { stream: true });
      const end = text.lastIndexOf('\n') + 1;
      streamed += (text.slice(0, end).match(/^id: /gm) ?? []).length;
      partial = text.slice(end);
    }
    const streamEventsPerSecond = streamed / ((performance.now() - s0) / 1000);
    if (streamed !== events) throw new Error(`the stream gave ${streamed} events of ${events}`);
    return { ...figures, streamEventsPerSecond };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await db.drop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Why Postgres cannot be measured here, or null. */
async function postgresUnreachable(): Promise<string | null> {
  try {
    await (await connectPostgres({ url: PG_URL, max: 1 })).close();
    return null;
  } catch (err) {
    return `unreachable: ${(err as Error).message}`;
  }
}

export async function benchScaleout(): Promise<BenchResult> {
  const unreachable = await postgresUnreachable();
  const stores: StoreName[] = unreachable ? ['sqlite'] : ['sqlite', 'postgres'];
  const rates = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const store of stores) {
      for (const workers of [1, 2]) {
        const key = `${store} ${workers}`;
        rates.set(key, [...(rates.get(key) ?? []), await jobsPerMinute(store, workers, round)]);
      }
    }
  }
  const logs = new Map<StoreName, LogFigures>();
  for (const store of stores) logs.set(store, await eventLogFigures(store, store === 'sqlite' ? EVENTS : PG_EVENTS));
  const claimCell = (f: StoreFigures) => `${f.claimMedianMs.toFixed(2)} / ${f.claimP99Ms.toFixed(2)}`;
  const row = (store: StoreName, system: string) => {
    const log = logs.get(store);
    if (!log) return { system, 'jobs/min, 1 worker': unreachable!, 'jobs/min, 2 workers': '', 'event appends/s': '', 'stream events/s': '', 'claim ms (median / p99)': '' };
    return {
      system,
      'jobs/min, 1 worker': median(rates.get(`${store} 1`)!),
      'jobs/min, 2 workers': median(rates.get(`${store} 2`)!),
      'event appends/s': log.appendsPerSecond,
      'stream events/s': log.streamEventsPerSecond,
      'claim ms (median / p99)': claimCell(log),
    };
  };
  const perRound = (store: StoreName) =>
    rates.has(`${store} 1`)
      ? `${store}: 1 worker ${rates.get(`${store} 1`)!.map((r) => r.toFixed(1)).join(', ')}; 2 workers ${rates.get(`${store} 2`)!.map((r) => r.toFixed(1)).join(', ')} (2 ÷ 1: ${(median(rates.get(`${store} 2`)!) / median(rates.get(`${store} 1`)!)).toFixed(2)}×)`
      : `${store}: ${unreachable}`;
  return {
    title: `scale-out: ${JOBS} queued nlu jobs on 1 and 2 worker processes (${ROUNDS} alternating rounds, medians); the event log on each store`,
    command: 'npm run bench -- scaleout',
    firstColumn: 'store',
    rows: [row('sqlite', 'SQLite (JARVIS_HOME/trinity.db)'), row('postgres', 'Postgres (TRINITY_DATABASE_URL)')],
    notes: [
      `jobs/min per round: ${perRound('sqlite')}; ${perRound('postgres')}; each trainer uses one core`,
      `event appends: ${EVENTS.toLocaleString('en-US')} JobStore.appendEvent calls (Postgres: ${PG_EVENTS.toLocaleString('en-US')}), one transaction each; stream: GET /api/training/stream of that log over SSE, read to its end; claims: 200 JobClaims.claimNext with ${QUEUED.toLocaleString('en-US')} queued jobs`,
    ],
  };
}
