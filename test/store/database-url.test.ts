import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/migrations.js';
import { checkDatabaseUrl, postgresSchemaVersion, STORES_NOT_ON_POSTGRES } from '../../src/store/open-sql.js';
import { PostgresSql } from '../../src/store/sql.js';
import { ensureBuilt, runCli } from '../cli/run-cli.js';
import { POSTGRES_URL, unreachable } from './harness.js';

describe('TRINITY_DATABASE_URL', () => {
  it('unset: SQLite, nothing to check', async () => {
    await expect(checkDatabaseUrl(undefined)).resolves.toBeUndefined();
  });

  it('refuses a URL that is not postgres://, without echoing its password', async () => {
    await expect(checkDatabaseUrl('mysql://u:secret@db/trinity')).rejects.toMatchObject({ code: 'TRN_ERR_CONFIG_INVALID', message: expect.not.stringContaining('secret') });
  });

  it('reports an unreachable server as a store failure, without its password', async () => {
    const err = await checkDatabaseUrl('postgres://u:secret@127.0.0.1:1/trinity').catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'TRN_ERR_STORE_FAILED' });
    expect(err!.message).toContain('u:********@127.0.0.1:1');
    expect(err!.message).not.toContain('secret');
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

  it('connects and migrates, then refuses while stores are left, naming them', async () => {
    await admin.run(`CREATE SCHEMA ${schema}`);
    const err = await checkDatabaseUrl(url).catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'TRN_ERR_CONFIG_INVALID' });
    expect(err!.message).toContain(`do not run on it yet: ${STORES_NOT_ON_POSTGRES.join('; ')}.`);
    const inSchema = new PostgresSql({ url, max: 1 });
    expect(await postgresSchemaVersion(inSchema)).toBe(migrations.length);
    await inSchema.close();
  });

  it('a service started with it exits with that error and never opens the SQLite file', async () => {
    ensureBuilt();
    const r = await runCli(['jarvis', '--port', '0'], home, { env: { TRINITY_DATABASE_URL: url, TRINITY_API_TOKEN: 't' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/TRN_ERR_CONFIG_INVALID|do not run on it yet/);
    expect(existsSync(join(home, 'trinity.db'))).toBe(false);
  });
});
