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
