import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { StoreFailed, TrainingDatasetPath } from '../../src/errors.js';
import { createApp } from '../../src/http/create-app.js';

/** A pino logger whose lines land in `lines`, parsed. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('createApp request logging', () => {
  it('logs a failed request with its request id, and a request that logs nothing leaves no line', async () => {
    const { logger, lines } = capturingLogger();
    const app = createApp({ logger, bodyLimitBytes: 1024 });
    app.get('/fine', () => ({ ok: true }));
    app.get('/broken', () => {
      throw new Error('the disk is on fire');
    });
    app.get('/noted', (req) => {
      req.log.child({ step: 'inner' }).info('a note');
      return { ok: true };
    });
    expect((await app.inject({ method: 'GET', url: '/fine' })).statusCode).toBe(200);
    expect(lines).toEqual([]);

    const broken = await app.inject({ method: 'GET', url: '/broken' });
    expect(broken.statusCode).toBe(500);
    const failure = lines.find((l) => l.level === 50);
    expect(failure).toMatchObject({ reqId: expect.stringMatching(/^req-/), err: { message: 'the disk is on fire' } });

    await app.inject({ method: 'GET', url: '/noted' });
    expect(lines.at(-1)).toMatchObject({ msg: 'a note', step: 'inner', reqId: expect.stringMatching(/^req-/) });
    expect(lines.at(-1)!.reqId).not.toBe(failure!.reqId);
    await app.close();
  });
});

describe('createApp errors of a full or read-only disk', () => {
  it('answers a write that failed for lack of disk space with 503, Retry-After and the reason, not a 500', async () => {
    const { logger } = capturingLogger();
    const app = createApp({ logger, bodyLimitBytes: 1024 });
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    app.post('/store', () => {
      throw StoreFailed.with({ cause: full }, 'insert experiences: database or disk is full');
    });
    app.post('/raw', () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    app.post('/bad', () => {
      throw TrainingDatasetPath.with({ cause: Object.assign(new Error('x'), { code: 'EROFS' }) }, 'x.json', 'is not a file');
    });
    for (const [url, reason] of [
      ['/store', 'SQLITE_FULL'],
      ['/raw', 'ENOSPC'],
    ]) {
      const res = await app.inject({ method: 'POST', url });
      expect(res.statusCode, url).toBe(503);
      expect(res.headers['retry-after']).toBe('30');
      expect(res.json()).toMatchObject({ code: 'TRN_ERR_STORAGE_UNAVAILABLE', reason, retry_after_seconds: 30 });
    }
    // A client's own mistake stays the 4xx it is, whatever lies beneath it.
    expect((await app.inject({ method: 'POST', url: '/bad' })).statusCode).toBe(400);
    await app.close();
  });
});

describe('createApp errors of a database another process keeps locked', () => {
  it('answers a write that found the SQLite file locked for the whole wait with 503 and Retry-After, not a 500', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trinity-busy-'));
    const holder = new Database(join(dir, 'x.db'));
    const other = new Database(join(dir, 'x.db'), { timeout: 0 });
    try {
      holder.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER)');
      holder.exec('BEGIN IMMEDIATE');
      let locked: unknown;
      try {
        other.exec('INSERT INTO t VALUES (1)');
      } catch (err) {
        locked = err;
      }
      expect((locked as { code?: string }).code).toBe('SQLITE_BUSY');
      const app = createApp({ logger: capturingLogger().logger, bodyLimitBytes: 1024 });
      app.post('/store', () => {
        throw StoreFailed.with({ cause: locked }, `insert: ${(locked as Error).message}`);
      });
      const res = await app.inject({ method: 'POST', url: '/store' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toMatchObject({ code: 'TRN_ERR_STORE_BUSY', retry_after_seconds: 1 });
      await app.close();
    } finally {
      holder.close();
      other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
