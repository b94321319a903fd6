/**
 * Every route of reactor, prime and jarvis (as registered, so new ones are included) under hostile bodies,
 * params, query strings and headers: never a 5xx (503 with Retry-After, the documented back-pressure,
 * aside), errors in the catalogue's JSON shape, and no host path in any answer that the request did not
 * carry itself.
 */
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.js';
import { requestFor } from './requests.js';
import { startFuzzServices } from './services.js';

const fuzz = await startFuzzServices();
afterAll(() => fuzz.close());

/** Cases per route: enough to meet every hostile form a few times, small enough for well under a minute. */
const RUNS_PER_ROUTE = 100;
/** Static dashboard files take no input worth fuzzing beyond a few headers. */
const RUNS_PER_STATIC_FILE = 5;
/** No answer may take longer (a stream left open on bad input would hang here). */
const ANSWER_TIMEOUT_MS = 5_000;

async function inject(app: FastifyInstance, options: InjectOptions): Promise<LightMyRequestResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
  });
  try {
    return await Promise.race([app.inject(options), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Host paths no answer may show unless the request itself carried them. */
const HOST_PATHS = ['/etc/', '/root'];

type ErrorShape = { error?: unknown; code?: unknown; retry_after_seconds?: unknown };

function parseJson(body: string): ErrorShape | null {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null ? (v as ErrorShape) : null;
  } catch {
    return null; // not JSON (static files, streams)
  }
}

function problemsOf(res: LightMyRequestResponse, sent: string): string[] {
  const problems: string[] = [];
  const body = res.body;
  const json = parseJson(body);
  const backPressure = res.statusCode === 503 && (res.headers['retry-after'] !== undefined || json?.retry_after_seconds !== undefined);
  if (res.statusCode >= 500 && !backPressure) problems.push(`status ${res.statusCode}`);
  if (res.statusCode >= 400) {
    if (typeof json?.error !== 'string') problems.push('error answer is not JSON with an "error" string');
    else if (typeof json.code !== 'string' || !/^TRN_ERR_[A-Z0-9_]+$/.test(json.code)) problems.push(`error code ${JSON.stringify(json.code)} is not in the catalogue`);
  }
  if (body.includes(fuzz.home)) problems.push(`answer shows the home folder ${fuzz.home}`);
  if (body.includes(ROOT)) problems.push(`answer shows the project folder ${ROOT}`);
  for (const p of HOST_PATHS) if (body.includes(p) && !sent.includes(p)) problems.push(`answer shows ${p}`);
  return problems;
}

for (const service of fuzz.services) {
  describe(`${service.name} routes under hostile requests`, () => {
    it('has routes recorded from the app itself', () => {
      expect(service.routes.length).toBeGreaterThan(3);
    });

    for (const route of service.routes) {
      const isStatic = !route.url.startsWith('/api/') && !['/health', '/metrics'].includes(route.url);
      it(`${route.method} ${route.url}: no 5xx, catalogue errors, no host paths`, async () => {
        // Every case runs (no stop at the first failure), so one run lists each kind of problem the route has.
        const found = new Map<string, string>();
        await fc.assert(
          fc.asyncProperty(requestFor(route, fuzz.knownIds), async (req) => {
            const res = await inject(service.app, req.options);
            for (const problem of problemsOf(res, req.text)) {
              if (!found.has(problem)) found.set(problem, `${req.options.method} ${req.options.url} [${String(req.options.headers?.['content-type'] ?? '')}] ${String(req.options.payload ?? '').slice(0, 80)} → ${res.statusCode} ${res.body.slice(0, 240)}`);
            }
          }),
          { numRuns: isStatic ? RUNS_PER_STATIC_FILE : RUNS_PER_ROUTE, seed: 14 },
        );
        expect([...found].map(([problem, example]) => `${problem}\n    e.g. ${example}`)).toEqual([]);
      });
    }
  });
}

describe('the fuzzed services', () => {
  it('leave Object.prototype alone', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
