/**
 * The latency probe, run as a process of its own (latency-probe.ts starts it): one request to each
 * compared API in turn, a short pause, again, and every answer timed. The load around it comes from the
 * soak process; timed there, an answer also waited for that process's own loop (its p99 delay under the
 * load was 7.5 ms beyond the histogram's 5 ms resolution, as large as the whole miss), so the figure
 * measured the client. Here the loop has
 * nothing else to do. Node runs this file as it is (type stripping) under vitest, or compiled from
 * dist-soak/: it imports only Node's own modules.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { realpathSync } from 'node:fs';

/** The APIs whose latency is compared, in the order of one round. */
export const LATENCY_APIS = ['jarvis POST /api/experiences', 'reactor POST /api/experiences', 'reactor GET /api/experiences/stats', 'prime POST /api/predict/nlu', 'prime POST /api/feedback'] as const;
export type LatencyApi = (typeof LATENCY_APIS)[number];

export interface ProbeJob {
  reactor: string;
  prime: string;
  jarvis: string;
  /** Rounds before timing starts. */
  warmupRounds: number;
  /** Timed rounds; null: until the parent says `stop`. */
  rounds: number | null;
  pauseMs: number;
  /** Hard limit on the run, whatever happens to the soak. */
  maxMs: number;
  /** Experiences per POST. */
  batchSize: number;
  /** Texts with their intents, used in turn for experiences and predictions. */
  texts: { text: string; intent: string }[];
  /** Prefix of each experience's `metadata.soak_nonce`, unique to this probe. */
  noncePrefix: string;
}

/** From the parent: `measure` drops what was timed so far (warm-up is over), `stop` ends the run. */
export type ProbeCommand = { kind: 'measure' } | { kind: 'stop' };

export interface ProbeServerError {
  api: string;
  method: string;
  url: string;
  status: number;
  body: string;
}

export interface ProbeReport {
  latencies: Record<string, number[]>;
  /** Nonces acknowledged by each path. */
  acked: { 'reactor-http': string[]; 'jarvis-http': string[] };
  sent: number;
  unacked: number;
  requests: number;
  networkErrors: number;
  backPressure: number;
  serverErrorCount: number;
  serverErrors: ProbeServerError[];
  /** p99 of this process's own event-loop delay while timing (ms): small, or the figures are the probe's. */
  loopDelayP99Ms: number;
}

/** The shape of a soak experience (experiences.ts builds the same). */
export interface ProbeExperience {
  id?: string;
  type: 'command';
  input: { text: string };
  expected_output: { intent: string };
  success: true;
  metadata: { soak_nonce: string };
}

/** No single soak request may hang the run (the soak's own client uses the same bound). */
export const REQUEST_TIMEOUT_MS = 15_000;
/** 5xx answers kept verbatim for the report. */
export const KEEP_5XX = 20;
const LOOP_RESOLUTION_MS = 5;

/** Whether an answer to a batch POST acknowledges every experience of it (reactor counts duplicates as taken). */
export function acknowledges(path: 'reactor-http' | 'jarvis-http', body: unknown, size: number): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as { accepted?: number; duplicates?: number; rejected?: unknown[] };
  const taken = (b.accepted ?? 0) + (path === 'reactor-http' ? (b.duplicates ?? 0) : 0);
  return Array.isArray(b.rejected) && b.rejected.length === 0 && taken === size;
}

/** 503 with Retry-After: the back-pressure the contract allows while starting or full. */
export function isBackPressure(status: number, headers: Headers, body: unknown): boolean {
  return status === 503 && (headers.get('retry-after') != null || (typeof body === 'object' && body !== null && 'retry_after_seconds' in body));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class Probe {
  private readonly report: ProbeReport = {
    latencies: Object.fromEntries(LATENCY_APIS.map((a) => [a, []])),
    acked: { 'reactor-http': [], 'jarvis-http': [] },
    sent: 0,
    unacked: 0,
    requests: 0,
    networkErrors: 0,
    backPressure: 0,
    serverErrorCount: 0,
    serverErrors: [],
    loopDelayP99Ms: NaN,
  };
  private readonly loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private timing = false;
  private stopped = false;
  private n = 0;
  private readonly job: ProbeJob;

  // No parameter properties: Node's type stripping runs this file and does not transform them.
  constructor(job: ProbeJob) {
    this.job = job;
  }

  command(c: ProbeCommand): void {
    if (c.kind === 'stop') this.stopped = true;
    else this.startTiming();
  }

  private startTiming(): void {
    for (const api of LATENCY_APIS) this.report.latencies[api] = [];
    this.loop.reset();
    this.loop.enable();
    this.timing = true;
  }

  async run(): Promise<ProbeReport> {
    const deadline = Date.now() + this.job.maxMs;
    const live = () => !this.stopped && Date.now() < deadline;
    for (let i = 0; i < this.job.warmupRounds && live(); i++) await this.round();
    if (!this.timing) this.startTiming();
    for (let i = 0; (this.job.rounds === null || i < this.job.rounds) && live(); i++) await this.round();
    this.loop.disable();
    // The histogram holds whole timer intervals (an idle loop shows 5.1 ms): the delay is what exceeds one.
    this.report.loopDelayP99Ms = this.loop.count > 0 ? Math.max(0, this.loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) : NaN;
    return this.report;
  }

  private async round(): Promise<void> {
    await this.postBatch('jarvis-http', 'jarvis POST /api/experiences', this.job.jarvis);
    await this.postBatch('reactor-http', 'reactor POST /api/experiences', this.job.reactor);
    await this.request('reactor GET /api/experiences/stats', 'GET', `${this.job.reactor}/api/experiences/stats`);
    const predicted = await this.request('prime POST /api/predict/nlu', 'POST', `${this.job.prime}/api/predict/nlu`, { input: { text: this.text().text }, session_id: 'probe' });
    const id = predicted?.status === 200 ? (predicted.body as { prediction_id?: string }).prediction_id : undefined;
    if (id) await this.request('prime POST /api/feedback', 'POST', `${this.job.prime}/api/feedback`, { prediction_id: id, success: true });
    await sleep(this.job.pauseMs);
  }

  private text(): { text: string; intent: string } {
    return this.job.texts[this.n++ % this.job.texts.length];
  }

  /** One POST of a fresh batch, not retried: an unacknowledged batch is counted, not lost. */
  private async postBatch(path: 'reactor-http' | 'jarvis-http', api: LatencyApi, base: string): Promise<void> {
    const batch: ProbeExperience[] = Array.from({ length: this.job.batchSize }, () => {
      const { text, intent } = this.text();
      const nonce = `${this.job.noncePrefix}${this.n}`;
      return { ...(this.n % 2 === 0 ? { id: `soak-${nonce}` } : {}), type: 'command', input: { text }, expected_output: { intent }, success: true, metadata: { soak_nonce: nonce } };
    });
    this.report.sent += batch.length;
    const a = await this.request(api, 'POST', `${base}/api/experiences`, { experiences: batch });
    if (a?.status === 200 && acknowledges(path, a.body, batch.length)) this.report.acked[path].push(...batch.map((e) => e.metadata.soak_nonce));
    else this.report.unacked += batch.length;
  }

  private async request(api: LatencyApi, method: string, url: string, body?: unknown): Promise<{ status: number; body: unknown } | null> {
    const r = this.report;
    r.requests++;
    const t0 = performance.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch {
      r.networkErrors++;
      return null;
    }
    const ms = performance.now() - t0;
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    if (res.status < 500 && this.timing) r.latencies[api].push(ms);
    if (isBackPressure(res.status, res.headers, parsed)) r.backPressure++;
    else if (res.status >= 500) {
      r.serverErrorCount++;
      if (r.serverErrors.length < KEEP_5XX) r.serverErrors.push({ api, method, url, status: res.status, body: text.slice(0, 400) });
    }
    return { status: res.status, body: parsed };
  }
}

/** As a child: the job comes as the first message, the report goes back as the last. */
function main(): void {
  let probe: Probe | null = null;
  process.on('message', (m: ProbeJob | ProbeCommand) => {
    if (probe) return probe.command(m as ProbeCommand);
    probe = new Probe(m as ProbeJob);
    void probe.run().then((report) => process.send!(report, () => process.disconnect()));
  });
  // The soak is gone: nothing is left to report to.
  process.on('disconnect', () => process.exit(0));
}

if (process.send && process.argv[1] && realpathSync(process.argv[1]) === import.meta.filename) main();
