import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientInvalidOption,
  ReactorBadResponseError,
  ReactorClient,
  ReactorHttpError,
  ReactorTimeoutError,
  ReactorUnreachableError,
  isRetryable,
} from '../../src/client/index.js';
import { TrinityError } from '../../src/errors.js';
import { FakeReactor } from './fake-reactor.js';

let fake: FakeReactor | undefined;
let raw: Server | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  if (raw) {
    raw.closeAllConnections();
    await new Promise((r) => raw!.close(r));
    raw = undefined;
  }
});

/** A server answering every request with `handler`, for shapes FakeReactor does not produce. */
async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  raw = createServer(handler);
  await new Promise<void>((r) => raw!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
}

describe('ReactorClient', () => {
  it('starts training with the body and bearer token, and returns the parsed answer', async () => {
    fake = await new FakeReactor({ token: 's3cret' }).start();
    const client = new ReactorClient({ baseUrl: fake.url + '/', token: 's3cret' });
    const res = await client.startTraining({ model_type: 'nlu', epochs: 4, job_id: 'j1', experiences: [{ type: 'command' }] });
    expect(res).toMatchObject({ job_id: 'j1', status: 'started' });
    const req = fake.requests.at(-1)!;
    expect(req.path).toBe('/api/training/start');
    expect(req.headers.authorization).toBe('Bearer s3cret');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toEqual({ model_type: 'nlu', epochs: 4, job_id: 'j1', experiences: [{ type: 'command' }] });
  });

  it('maps a JSON error body to ReactorHttpError with status, code, error and details', async () => {
    fake = await new FakeReactor().start();
    const err = await new ReactorClient({ baseUrl: fake.url }).status('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReactorHttpError);
    expect(err).toBeInstanceOf(TrinityError);
    const e = err as ReactorHttpError;
    expect([e.status, e.statusCode, e.code, e.error, e.details]).toEqual([404, 404, 'TRN_ERR_TRAINING_JOB_NOT_FOUND', 'Training job not found', 'no job nope']);
    expect(e.method).toBe('GET');
    expect(isRetryable(e)).toBe(false);
  });

  it('maps a 401 without the token and a 400 for a bad model type', async () => {
    fake = await new FakeReactor({ token: 't' }).start();
    const noToken = await new ReactorClient({ baseUrl: fake.url }).health().catch((e: unknown) => e);
    expect(noToken).toMatchObject({ status: 401, code: 'TRN_ERR_HTTP_UNAUTHORIZED' });
    const bad = await new ReactorClient({ baseUrl: fake.url, token: 't' }).startTraining({ model_type: 'tarot' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, code: 'TRN_ERR_TRAINING_UNKNOWN_MODEL_TYPE', details: 'body.model_type' });
  });

  it('keeps a non-JSON error body as details and marks 5xx retryable', async () => {
    const url = await rawServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('Bad Gateway from proxy');
    });
    const e = (await new ReactorClient({ baseUrl: url }).jobs().catch((x: unknown) => x)) as ReactorHttpError;
    expect(e).toBeInstanceOf(ReactorHttpError);
    expect([e.status, e.code, e.error, e.details]).toEqual([502, 'TRN_ERR_CLIENT_HTTP', 'HTTP 502', 'Bad Gateway from proxy']);
    expect(isRetryable(e)).toBe(true);
  });

  it('keeps extra error fields (active_job_id, retry_after_seconds) in body', async () => {
    const url = await rawServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'training queue is full (16 jobs)', details: 'queue', code: 'TRN_ERR_TRAINING_QUEUE_FULL', active_job_id: 'a', retry_after_seconds: 30 }));
    });
    const e = (await new ReactorClient({ baseUrl: url }).startTraining({ model_type: 'nlu' }).catch((x: unknown) => x)) as ReactorHttpError;
    expect(e.body).toMatchObject({ active_job_id: 'a', retry_after_seconds: 30 });
  });

  it('throws ReactorUnreachableError naming the URL when nothing listens', async () => {
    const url = await rawServer(() => undefined);
    raw!.close();
    raw = undefined;
    const e = await new ReactorClient({ baseUrl: url }).health().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReactorUnreachableError);
    expect((e as Error).message).toContain(`reactor is not reachable at ${url}`);
    expect((e as Error).message).toContain('ECONNREFUSED');
    expect(isRetryable(e)).toBe(true);
  });

  it('throws ReactorTimeoutError when the reactor does not answer within timeoutMs', async () => {
    const url = await rawServer(() => undefined);
    const started = Date.now();
    const e = await new ReactorClient({ baseUrl: url, timeoutMs: 150 }).health().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReactorTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("passes the caller's abort through unchanged", async () => {
    const url = await rawServer(() => undefined);
    const ac = new AbortController();
    const p = new ReactorClient({ baseUrl: url }).health({ signal: ac.signal });
    ac.abort(new Error('user stop'));
    await expect(p).rejects.toThrow('user stop');
  });

  it('returns a 503 starting health report instead of throwing', async () => {
    const url = await rawServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'starting', service: 'reactor-core' }));
    });
    await expect(new ReactorClient({ baseUrl: url }).health()).resolves.toMatchObject({ status: 'starting' });
  });

  it('rejects an answer that is not the contract shape with ReactorBadResponseError', async () => {
    const url = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ job: 'x' }));
    });
    const e = await new ReactorClient({ baseUrl: url }).status('x').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReactorBadResponseError);
    expect((e as Error).message).toMatch(/job_id/);
  });

  it('lists jobs with the filter as query parameters', async () => {
    fake = await new FakeReactor().start();
    fake.addJob('a', 2, 'completed', 'nlu');
    fake.addJob('b', 2, 'failed', 'voice');
    const client = new ReactorClient({ baseUrl: fake.url });
    expect((await client.jobs()).map((j) => j.job_id)).toEqual(['b', 'a']);
    const failed = await client.jobs({ status: 'failed', model_type: 'voice', limit: 5 });
    expect(failed.map((j) => j.job_id)).toEqual(['b']);
    expect(fake.requests.at(-1)!.query.toString()).toBe('status=failed&model_type=voice&limit=5');
  });

  it('cancels a job and url-encodes its id', async () => {
    fake = await new FakeReactor().start();
    fake.addJob('a b/c');
    await expect(new ReactorClient({ baseUrl: fake.url }).cancel('a b/c')).resolves.toMatchObject({ status: 'cancelled' });
    expect(fake.requests.at(-1)!.path).toBe('/api/training/cancel/a%20b%2Fc');
  });

  it('rejects a bad baseUrl or timeoutMs at construction, naming the option', () => {
    expect(() => new ReactorClient({ baseUrl: 'localhost:8090' })).toThrow(ClientInvalidOption);
    expect(() => new ReactorClient({ baseUrl: 'ftp://x' })).toThrow(/baseUrl must be an http\(s\) URL/);
    expect(() => new ReactorClient({ baseUrl: 'http://x', timeoutMs: 0 })).toThrow(/timeoutMs must be a positive number/);
  });
});
