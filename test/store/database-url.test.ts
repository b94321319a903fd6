import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { migrations } from '../../src/store/migrations.js';
import { openDatabase } from '../../src/store/database.js';
import { openSqlDb, postgresSchemaVersion } from '../../src/store/open-sql.js';
import { PostgresSql } from '../../src/store/sql.js';
import { getJson, postJson, startService } from '../helpers/processes.js';
import { ensureBuilt } from '../cli/run-cli.js';
import { POSTGRES_URL, unreachable } from './harness.js';

describe('TRINITY_DATABASE_URL', () => {
  const open = (databaseUrl: string | undefined) =>
    openSqlDb({ databaseUrl, sqlite: () => openDatabase({ path: ':memory:' }) });

  it('unset: SQLite', async () => {
    expect((await open(undefined)).dialect).toBe('sqlite');
  });

  it('refuses a URL that is not postgres://, without echoing its password', async () => {
    await expect(open('mysql://u:secret@db/trinity')).rejects.toMatchObject({ code: 'TRN_ERR_CONFIG_INVALID', message: expect.not.stringContaining('secret') });
  });

  it('reports an unreachable server as a store failure, without its password', async () => {
    const err = (await open('postgres://u:secret@127.0.0.1:1/trinity').then(() => null, (e: unknown) => e)) as (Error & { code: string }) | null;
    expect(err).toMatchObject({ code: 'TRN_ERR_STORE_FAILED' });
    expect(err!.message).toContain('u:********@127.0.0.1:1');
    expect(err!.message).not.toContain('secret');
  });

  it('decides who trains: the reactor on SQLite, workers on Postgres, unless TRAINING_WORKERS says otherwise', () => {
    const trains = (env: Record<string, string>) => parseConfig({ JARVIS_HOME: tmpdir(), ...env }).training.reactorTrains;
    const url = 'postgres://postgres@127.0.0.1:5432/trinity';
    expect(trains({})).toBe(true);
    expect(trains({ TRINITY_DATABASE_URL: url })).toBe(false);
    expect(trains({ TRINITY_DATABASE_URL: url, TRAINING_WORKERS: 'reactor' })).toBe(true);
    expect(trains({ TRAINING_WORKERS: 'external' })).toBe(false);
  });
});

describe.skipIf(unreachable !== null)(`TRINITY_DATABASE_URL on Postgres${unreachable ? ` skipped: ${unreachable}` : ''}`, () => {
  const schema = `trinity_test_url_${process.pid}`;
  const url = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const admin = new PostgresSql({ url: POSTGRES_URL, max: 1 });
  const home = mkdtempSync(join(tmpdir(), 'trinity-pgurl-'));
  afterAll(async () => {
    await admin.run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('connects and applies every migration', async () => {
    await admin.run(`CREATE SCHEMA ${schema}`);
    const db = await openSqlDb({ databaseUrl: url, sqlite: () => expect.fail('SQLite opened') });
    expect(db.dialect).toBe('postgres');
    expect(await postgresSchemaVersion(db)).toBe(migrations.length);
    await db.close();
  });

  it('ends a session idle inside a transaction after a third of the shorter lease TTL, so a frozen process frees its locks before its leases run out', async () => {
    const timeout = async (env: Record<string, string>) => {
      const config = parseConfig({ JARVIS_HOME: home, TRINITY_DATABASE_URL: url, ...env });
      const db = await openSqlDb({ databaseUrl: url, idleInTransactionMs: config.databaseIdleInTransactionMs, sqlite: () => expect.fail('SQLite opened') });
      try {
        return (await db.get<{ idle_in_transaction_session_timeout: string }>('SHOW idle_in_transaction_session_timeout'))!.idle_in_transaction_session_timeout;
      } finally {
        await db.close();
      }
    };
    expect(await timeout({})).toBe('5s'); // LEADER_LEASE_TTL 15 s
    expect(await timeout({ LEADER_LEASE_TTL: '60', TRAINING_LEASE_TTL: '90' })).toBe('10s');
    expect(await timeout({ TRAINING_LEASE_TTL: '2' })).toBe('1s');
  });

  it('a reactor started with it keeps its experiences in Postgres and never opens the SQLite file', async () => {
    ensureBuilt();
    const reactor = await startService('reactor', home, { TRINITY_DATABASE_URL: url });
    try {
      const experiences = [1, 2, 3].map((i) => ({ id: `pg-${i}`, type: 'command', input: { text: `turn on the light ${i}` }, expected_output: { intent: 'lights' }, success: true }));
      expect((await postJson(`${reactor.url}/api/experiences`, { experiences })).status).toBe(200);
      const stats = (await getJson<{ totals: { total: number } }>(`${reactor.url}/api/experiences/stats`)).body;
      expect(stats.totals.total).toBe(3);
      const rows = await admin.all<{ id: string }>(`SELECT id FROM ${schema}.experiences ORDER BY id`);
      expect(rows.map((r) => r.id)).toEqual(['pg-1', 'pg-2', 'pg-3']);
      expect(existsSync(join(home, 'trinity.db'))).toBe(false);
    } finally {
      await reactor.kill('SIGTERM');
    }
  });
});
