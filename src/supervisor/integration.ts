/**
 * Phase 3, integration verification (the design's "verify cross-repo communication, test training API
 * connectivity"): each check asks a service about its own view of another, so a wrong URL handed to one
 * of them shows up here and not at the first training job.
 */
import { z } from 'zod';
import { httpGet } from './http-get.js';
import type { CheckResult, DeployedModel } from './types.js';

/** One integration request may take this long. */
export const CHECK_TIMEOUT_MS = 5_000;

export interface IntegrationTargets {
  /** Reactor's URL; null when it is off or down. */
  reactorUrl: string | null;
  /** J-Prime's URL as reactor was told it; null when it is off or down. */
  primeUrl: string | null;
  /** False for an external J-Prime that is not a Trinity prime (llama.cpp, Ollama). */
  primeIsTrinity: boolean;
  jarvisUrl: string | null;
  /** Training workers `up` started (their ids come from their health); none: the check is skipped. */
  workerIds?: string[];
  token?: string;
}

const jarvisHealth = z.looseObject({
  breaker: z.record(z.string(), z.string()).optional(),
  reactor: z.looseObject({ url: z.string().optional(), problem: z.string().nullable().optional(), last_failure: z.string().nullable().optional() }).optional(),
});
const anyHealth = z.looseObject({ problems: z.array(z.string()).optional() });
const modelsBody = z.looseObject({
  models: z.record(
    z.string(),
    z.looseObject({ stable: z.string().nullable().optional(), canary: z.string().nullable().optional(), canary_percentage: z.number().optional() }),
  ),
});

type Fetched = { ok: true; status: number; body: unknown } | { ok: false; error: string };

async function get(url: string, token: string | undefined): Promise<Fetched> {
  try {
    const res = await httpGet(url, { timeoutMs: CHECK_TIMEOUT_MS, token });
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = res.text;
    }
    return { ok: true, status: res.status, body };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** localhost, 127.0.0.1 and ::1 name the same reactor; anything else must match host and port. */
function sameEndpoint(a: string, b: string): boolean {
  const key = (u: string) => {
    try {
      const url = new URL(u);
      const host = ['localhost', '[::1]', '127.0.0.1'].includes(url.hostname) ? 'loopback' : url.hostname;
      return `${url.protocol}//${host}:${url.port}`;
    } catch {
      return u;
    }
  };
  return key(a) === key(b);
}

const skip = (name: string, why: string): CheckResult => ({ name, ok: null, detail: why });

export async function verifyIntegration(t: IntegrationTargets): Promise<CheckResult[]> {
  return Promise.all([trainingApi(t), jarvisToReactor(t), primeToReactor(t), reactorToPrime(t), reactorSeesWorkers(t)]);
}

/** A worker's id as its own health says it (`worker_id`); null when it does not answer. */
export async function workerIdOf(workerUrl: string, token: string | undefined): Promise<string | null> {
  const r = await get(`${workerUrl}/api/health`, token);
  const parsed = r.ok ? z.looseObject({ worker_id: z.string() }).safeParse(r.body) : null;
  return parsed?.success ? parsed.data.worker_id : null;
}

const workersBody = z.looseObject({ workers: z.array(z.looseObject({ worker_id: z.string() })) });

/** Each worker `up` started shares reactor's database: reactor lists it as a live training runner. */
async function reactorSeesWorkers(t: IntegrationTargets): Promise<CheckResult> {
  const name = 'reactor → workers';
  if (!t.workerIds?.length) return skip(name, 'no training workers were started (trinity up --workers N)');
  if (!t.reactorUrl) return skip(name, 'Reactor-Core is not running');
  const url = `${t.reactorUrl}/api/training/workers`;
  const r = await get(url, t.token);
  if (!r.ok) return { name, ok: false, detail: `GET ${url} → ${r.error}` };
  const parsed = workersBody.safeParse(r.body);
  const live = new Set(parsed.success ? parsed.data.workers.map((w) => w.worker_id) : []);
  const missing = t.workerIds.filter((id) => !live.has(id));
  if (missing.length) return { name, ok: false, detail: `reactor does not list ${missing.join(', ')} as live (do they share its JARVIS_HOME / TRINITY_DATABASE_URL?)` };
  return { name, ok: true, detail: `reactor lists all ${t.workerIds.length} workers as live training runners` };
}

async function trainingApi(t: IntegrationTargets): Promise<CheckResult> {
  const name = 'training API';
  if (!t.reactorUrl) return skip(name, 'Reactor-Core is not running');
  const url = `${t.reactorUrl}/api/training/jobs`;
  const r = await get(url, t.token);
  if (!r.ok) return { name, ok: false, detail: `GET ${url} → ${r.error}` };
  const jobs = typeof r.body === 'object' && r.body !== null && 'jobs' in r.body ? r.body.jobs : r.body;
  const count = Array.isArray(jobs) ? ` (${jobs.length} recent jobs)` : '';
  return { name, ok: r.status === 200, detail: `GET ${url} → ${r.status}${count}` };
}

async function jarvisToReactor(t: IntegrationTargets): Promise<CheckResult> {
  const name = 'jarvis → reactor';
  if (!t.jarvisUrl) return skip(name, 'JARVIS is not running');
  if (!t.reactorUrl) return skip(name, 'Reactor-Core is not running');
  const r = await get(`${t.jarvisUrl}/health`, t.token);
  if (!r.ok) return { name, ok: false, detail: `jarvis health unreadable: ${r.error}` };
  const h = jarvisHealth.safeParse(r.body);
  if (!h.success) return { name, ok: false, detail: 'jarvis health has no reactor section' };
  const seen = h.data.reactor?.url;
  if (seen !== undefined && !sameEndpoint(seen, t.reactorUrl)) return { name, ok: false, detail: `jarvis talks to ${seen}, not to ${t.reactorUrl}` };
  const breaker = h.data.breaker?.local ?? 'unknown';
  const problem = h.data.reactor?.problem ?? null;
  if (breaker !== 'closed' || problem) return { name, ok: false, detail: `circuit breaker ${breaker}${problem ? `: ${problem}` : ''}` };
  return { name, ok: true, detail: `circuit breaker closed, reactor at ${seen ?? t.reactorUrl}` };
}

async function primeToReactor(t: IntegrationTargets): Promise<CheckResult> {
  const name = 'prime → reactor';
  if (!t.primeUrl) return skip(name, 'J-Prime is not running');
  if (!t.primeIsTrinity) return skip(name, 'external J-Prime does not read reactor');
  if (!t.reactorUrl) return skip(name, 'Reactor-Core is not running');
  const r = await get(`${t.primeUrl}/health`, t.token);
  if (!r.ok) return { name, ok: false, detail: `prime health unreadable: ${r.error}` };
  const h = anyHealth.safeParse(r.body);
  const problem = (h.success ? (h.data.problems ?? []) : []).find((p) => /reactor/i.test(p));
  if (problem) return { name, ok: false, detail: problem };
  return { name, ok: true, detail: 'prime reads the deployed splits from reactor' };
}

async function reactorToPrime(t: IntegrationTargets): Promise<CheckResult> {
  const name = 'reactor → prime';
  if (!t.primeUrl) return skip(name, 'J-Prime is not running');
  if (!t.reactorUrl) return skip(name, 'Reactor-Core is not running');
  // What reactor's rollout controller reads to measure each version (docs/prime-protocol.md).
  const url = `${t.primeUrl}/api/v1/models/stats`;
  const r = await get(url, t.token);
  if (!r.ok) return { name, ok: false, detail: `GET ${url} → ${r.error}` };
  if (r.status !== 200) {
    const why = t.primeIsTrinity ? '' : ': this J-Prime speaks no Trinity prime API, so rollouts cannot measure it';
    return { name, ok: false, detail: `GET ${url} → ${r.status}${why}` };
  }
  return { name, ok: true, detail: `GET ${url} → 200 (rollouts can read per-version outcomes)` };
}

/** Stable and canary versions per model type, from reactor's registry; null when unreadable. */
export async function readDeployedModels(reactorUrl: string, token?: string): Promise<DeployedModel[] | null> {
  const r = await get(`${reactorUrl}/api/models`, token);
  if (!r.ok || r.status !== 200) return null;
  const parsed = modelsBody.safeParse(r.body);
  if (!parsed.success) return null;
  return Object.entries(parsed.data.models).map(([modelType, m]) => ({
    modelType,
    stable: m.stable ?? null,
    canary: m.canary ?? null,
    canaryPercentage: m.canary_percentage ?? 0,
  }));
}
