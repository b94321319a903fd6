/**
 * `POST {reactor}/api/models/deploy` (CONTRACT §3). ReactorClient has no deploy method yet, so this one
 * request is made here, with the client's own error classes so the coordinator's policies treat it like
 * every other reactor call (a 4xx is an answer, unreachable/timeout/5xx may be retried).
 */
import { ReactorHttpError, ReactorTimeoutError, ReactorUnreachableError } from '../client/index.js';

export interface DeployBody {
  /** Makes a retried request idempotent: reactor answers the same deployment for the same id. */
  deployment_id?: string;
  model_version: string;
  model_type: string;
  strategy: 'immediate' | 'gradual_rollout' | 'canary' | 'ab_test' | 'blue_green';
  config?: {
    initial_percentage?: number;
    rollout_steps?: number[];
    rollback_on_error_rate?: number;
    min_samples?: number;
    monitor_duration_seconds?: number;
    auto_rollback?: boolean;
  };
}

export interface DeployCallOptions {
  baseUrl: string;
  token: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function postDeploy(body: DeployBody, o: DeployCallOptions): Promise<Record<string, unknown>> {
  const url = `${o.baseUrl}/api/models/deploy`;
  const deadline = AbortSignal.timeout(o.timeoutMs);
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: o.signal ? AbortSignal.any([o.signal, deadline]) : deadline });
    text = await res.text();
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason;
    if (deadline.aborted) throw new ReactorTimeoutError(url, o.timeoutMs);
    throw new ReactorUnreachableError(o.baseUrl, err);
  }
  const json = parseObject(text);
  if (!res.ok) throw new ReactorHttpError({ status: res.status, method: 'POST', url, body: json, text });
  return json ?? {};
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
