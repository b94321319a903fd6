/**
 * HTTP to the services with every answer tallied: 5xx answers (with the request that got them), and
 * back-pressure (503 with Retry-After, which the contract allows while starting or full). Latency is
 * timed by the probe in a process of its own (latency-probe.ts), not here.
 */
import { isBackPressure, KEEP_5XX, REQUEST_TIMEOUT_MS } from './probe-process.js';

export interface Answer {
  status: number;
  /** Parsed JSON, the text when it is not JSON, null on a network error. */
  body: unknown;
  headers: Headers | null;
  /** The connection failed (service down or killed mid-request). */
  networkError: string | null;
}

export interface ServerError {
  /** What the soak was doing (e.g. "run 4: prime rollout"). */
  phase: string;
  api: string;
  method: string;
  url: string;
  status: number;
  body: string;
}

export class Tally {
  readonly serverErrors: ServerError[] = [];
  serverErrorCount = 0;
  backPressure = 0;
  networkErrors = 0;
  requests = 0;
  /** While true (the disk-full case), 507 Insufficient Storage is the expected answer to a write. */
  diskFull = false;
  insufficientStorage = 0;
  /** Set by the soak as it goes, to say when each 5xx came. */
  phase = 'setup';

  /** Counts `count` 5xx answers, keeping the first few verbatim with the current phase. */
  countServerErrors(count: number, examples: readonly Omit<ServerError, 'phase'>[]): void {
    this.serverErrorCount += count;
    for (const e of examples) if (this.serverErrors.length < KEEP_5XX) this.serverErrors.push({ phase: this.phase, ...e });
  }
}

/** Insufficient storage: the honest answer to a write while the disk is full. */
export const INSUFFICIENT_STORAGE = 507;

export class SoakClient {
  constructor(
    readonly tally: Tally,
    private readonly token?: string,
  ) {}

  async request(api: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    this.tally.requests++;
    const h: Record<string, string> = { ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    if (this.token) h.authorization = `Bearer ${this.token}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      text = await res.text();
    } catch (err) {
      this.tally.networkErrors++;
      return { status: 0, body: null, headers: null, networkError: (err as Error).cause ? String((err as Error & { cause: unknown }).cause) : (err as Error).message };
    }
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    const answer: Answer = { status: res.status, body: parsed, headers: res.headers, networkError: null };
    if (isBackPressure(res.status, res.headers, parsed)) this.tally.backPressure++;
    else if (res.status === INSUFFICIENT_STORAGE && this.tally.diskFull) this.tally.insufficientStorage++;
    else if (res.status >= 500) this.tally.countServerErrors(1, [{ api, method, url, status: res.status, body: text.slice(0, 400) }]);
    return answer;
  }

  get(api: string, url: string): Promise<Answer> {
    return this.request(api, 'GET', url);
  }

  post(api: string, url: string, body: unknown): Promise<Answer> {
    return this.request(api, 'POST', url, body);
  }
}

/** The p-th percentile (0–100) of `values`, NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
