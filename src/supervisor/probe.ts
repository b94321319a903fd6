/**
 * Health probes (CONTRACT §3): `starting` answers 503 until a service can do its job, then `healthy`
 * (200) or `degraded` (200 with `problems`). An external J-Prime (llama.cpp, Ollama…) speaks no Trinity
 * health body: its `/health` 200 is healthy, 503 is still loading, and a 404 sends us on to `/`.
 */
import { httpGet, type HttpAnswer } from './http-get.js';

/** One probe may take this long; a port held by something that never answers HTTP must not hang us. */
export const PROBE_TIMEOUT_MS = 2_000;

/** What one probe saw, reduced to what the supervisor decides on. */
export type ProbeState = 'healthy' | 'degraded' | 'starting' | 'down';

export interface ProbeResult {
  /** The URL of the last request made. */
  url: string;
  state: ProbeState;
  /** HTTP status; null when no answer came. */
  httpStatus: number | null;
  /** `service` of a JSON health body (reactor-core, j-prime, jarvis), else null. */
  service: string | null;
  /** The parsed JSON body, when it was a JSON object. */
  body: Record<string, unknown> | null;
  /** `problems` of a degraded answer, or why there was no answer. */
  problems: string[];
  /** Network failure (ECONNREFUSED, timeout…); null when an HTTP answer came. */
  error: string | null;
}

export interface ProbeOptions {
  timeoutMs?: number;
  /** Bearer token (TRINITY_API_TOKEN); health needs none today, but a proxy in front might. */
  token?: string;
}

/** Probes `baseUrl` + each path in turn until one answers something other than 404. */
export async function probeHealth(baseUrl: string, paths: readonly string[], opts: ProbeOptions = {}): Promise<ProbeResult> {
  let last: ProbeResult | null = null;
  for (const path of paths) {
    last = await probeOnce(`${baseUrl}${path}`, opts);
    if (last.httpStatus !== 404) return last;
  }
  return last ?? down(baseUrl, 'no health path to probe');
}

async function probeOnce(url: string, opts: ProbeOptions): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? PROBE_TIMEOUT_MS;
  let res: HttpAnswer;
  try {
    res = await httpGet(url, { timeoutMs, token: opts.token });
  } catch (err) {
    return down(url, err instanceof Error ? err.message : String(err));
  }
  const text = res.text;
  const body = parseObject(text);
  const reported = typeof body?.status === 'string' ? body.status : null;
  const problems = Array.isArray(body?.problems) ? body.problems.map(String) : [];
  const service = typeof body?.service === 'string' ? body.service : null;
  const base = { url, httpStatus: res.status, service, body, error: null };
  if (res.status === 503 || reported === 'starting') return { ...base, state: 'starting', problems };
  if (res.status < 200 || res.status > 299) return { ...base, state: 'down', problems: [`answered ${res.status}${reported ? ` ${reported}` : ''}`] };
  if (reported === 'degraded') return { ...base, state: 'degraded', problems };
  if (reported === 'failed') return { ...base, state: 'down', problems: problems.length ? problems : ['status failed'] };
  return { ...base, state: 'healthy', problems };
}

function down(url: string, error: string): ProbeResult {
  return { url, state: 'down', httpStatus: null, service: null, body: null, problems: [error], error };
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `GET http://127.0.0.1:8090/api/health → 503 starting`, the form failures and steps print. */
export function describeProbe(r: ProbeResult): string {
  if (r.httpStatus === null) return `GET ${r.url} → ${r.error ?? 'no answer'}`;
  const status = typeof r.body?.status === 'string' ? ` ${r.body.status}` : '';
  const problems = r.state === 'healthy' || r.problems.length === 0 ? '' : ` (${r.problems.join('; ')})`;
  return `GET ${r.url} → ${r.httpStatus}${status}${problems}`;
}
