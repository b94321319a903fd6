/**
 * Latency and memory: each API's p99 alone (idle) and under mixed load (experiences to jarvis and
 * reactor, predictions and feedback to prime, training jobs back to back), and each service's RSS (and V8 heap
 * where /metrics has prom-client's default metrics): the peak of the second half after warm-up against the first's.
 */
import { rssBytes } from '../src/util/proc.js';
import { Traffic } from './background.js';
import { percentile } from './client.js';
import { sleep, SERVICES, type ServiceName } from './cluster.js';
import type { SoakContext } from './context.js';
import { LatencyProbe } from './latency-probe.js';
import { LATENCY_APIS, type ProbeReport } from './probe-process.js';

/** The idle rounds take a second or two; a wedged service must not hold the soak longer than this. */
const IDLE_PROBE_MAX_MS = 300_000;

/** p99 of each API with nothing else running: `n` rounds of the probe after 10 warm-up ones. */
export async function idleP99(ctx: SoakContext, n: number): Promise<{ p99: Record<string, number>; probeLoopDelayP99Ms: number }> {
  const report = await new LatencyProbe(ctx, 'idle', 10, n, IDLE_PROBE_MAX_MS).finished();
  return { p99: p99s(report), probeLoopDelayP99Ms: report.loopDelayP99Ms };
}

function p99s(report: ProbeReport): Record<string, number> {
  return Object.fromEntries(LATENCY_APIS.map((api) => [api, percentile(report.latencies[api] ?? [], 99)]));
}

/** Each figure is the highest sample of a half of the measured time (after warm-up): see `peaks`. */
export interface MemoryGrowth {
  service: ServiceName;
  rssFirstMb: number;
  rssSecondMb: number;
  rssGrowth: number;
  heapFirstMb: number | null;
  heapSecondMb: number | null;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  predictions: number;
  p99: Record<string, number>;
  memory: MemoryGrowth[];
  /** The training jobs started during the load, in order. */
  trainingJobs: string[];
  /** p99 of the probe's own event-loop delay while it timed the load: small, or the figures are the probe's. */
  probeLoopDelayP99Ms: number;
  /** Timed requests per API. */
  samples: number;
}

const METRICS_PREFIX: Partial<Record<ServiceName, string>> = { reactor: 'trinity_reactor_', prime: 'trinity_prime_' };

async function heapBytes(ctx: SoakContext, service: ServiceName): Promise<number | null> {
  const prefix = METRICS_PREFIX[service];
  if (!prefix) return null;
  const res = await fetch(`${ctx.cluster.url(service)}/metrics`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
  const text = res?.ok ? await res.text() : '';
  const m = new RegExp(`^${prefix}nodejs_heap_size_used_bytes (\\d+(?:\\.\\d+)?)`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

const MB = 1024 * 1024;
/** Memory is sampled this often. */
const SAMPLE_MS = 1_000;

/**
 * The highest sample of the first half and of the second half. A service's memory is a sawtooth: V8
 * grows the old space between full collections and gives pages back after one (prime's RSS went
 * 113 → 85 MB in one collection, then climbed 0.5 MB every 10 s). Comparing the means of two 10-second
 * windows compared where in that cycle each fell: the same build gave prime −4 % to +16 % and jarvis
 * −44 % to +15 % across runs. A leak raises the peaks; the collector's cycle does not.
 */
function peaks(samples: readonly number[]): [first: number, second: number] {
  const half = Math.max(1, Math.floor(samples.length / 2));
  const max = (xs: readonly number[]) => xs.reduce((m, x) => Math.max(m, x), 0);
  return [max(samples.slice(0, half)), max(samples.slice(half))];
}
/** About one epoch every two seconds of load on a buffer of a few thousand experiences. */
const SECONDS_PER_EPOCH = 2;

/**
 * Training during the load: jobs of one cycle's length each, one after another. Warm-up ends when the first
 * has finished (and at least a fifth of the time has passed), so every path the load takes has run once
 * before memory counts: a job's completion, evaluation and registration among them. Measured from the
 * start instead, the first job's end (a model loaded for evaluation, a version registered) showed up as
 * growth in the last window of a run and not in another (docs/security.md, "Last full run").
 */
class TrainingCycles {
  readonly jobs: string[] = [];
  private current: string | null = null;
  private finished = 0;

  constructor(
    private readonly ctx: SoakContext,
    private readonly seed: number,
    private readonly epochs: number,
  ) {}

  /** Starts the next job when none runs; the number of jobs finished so far. */
  async tick(): Promise<number> {
    if (this.current) {
      const job = await this.ctx.actions.job(this.current);
      if (!job || !['completed', 'failed', 'cancelled'].includes(job.status)) return this.finished;
      this.finished++;
      this.current = null;
    }
    const id = `soak-load-${this.seed}-${this.jobs.length + 1}`;
    if (await this.ctx.actions.startJob(id, this.epochs)) {
      this.jobs.push(id);
      this.current = id;
    }
    return this.finished;
  }
}

export async function runLoad(ctx: SoakContext, seconds: number, seed: number): Promise<LoadResult> {
  const requestsBefore = ctx.tally.requests;
  const minWarmMs = Math.max(5_000, seconds * 200);
  // Warm-up waits for the first job at most two fifths of the time, so three fifths are always measured.
  const maxWarmMs = Math.max(minWarmMs, seconds * 400);
  const traffic = new Traffic(ctx, { feedPauseMs: 20, predictPauseMs: 2, predictors: 2, batchSize: 10, feed: true, maxMs: seconds * 1000 + 60_000 }).start();
  const cycles = new TrainingCycles(ctx, seed, Math.max(5, Math.round(seconds / 5 / SECONDS_PER_EPOCH)));
  await cycles.tick();
  const rss = new Map<ServiceName, number[]>(SERVICES.map((s) => [s, []]));
  const heap = new Map<ServiceName, number[]>(SERVICES.map((s) => [s, []]));
  // Latency is timed by the probe, a steady trickle in a process of its own; the traffic above is the load.
  const probe = new LatencyProbe(ctx, 'load', 0, null, seconds * 1000 + 60_000);
  const t0 = Date.now();
  let warm = false;
  for (let i = 0; i < seconds * 10 && Date.now() - t0 < seconds * 1000; i++) {
    await sleep(SAMPLE_MS);
    const finished = await cycles.tick();
    const elapsed = Date.now() - t0;
    if (!warm && elapsed >= minWarmMs && (finished > 0 || elapsed >= maxWarmMs)) {
      warm = true;
      probe.measure();
    }
    if (!warm) continue;
    for (const s of SERVICES) {
      const pid = ctx.cluster.pid(s);
      if (pid) rss.get(s)!.push(rssBytes(pid));
      const h = await heapBytes(ctx, s);
      if (h !== null) heap.get(s)!.push(h);
    }
  }
  const report = await probe.stop();
  await traffic.stop();
  const memory = SERVICES.map((service): MemoryGrowth => {
    const [rssFirst, rssSecond] = peaks(rss.get(service)!);
    const h = heap.get(service)!;
    const [heapFirst, heapSecond] = peaks(h);
    return {
      service,
      rssFirstMb: rssFirst / MB,
      rssSecondMb: rssSecond / MB,
      rssGrowth: rssFirst > 0 ? rssSecond / rssFirst - 1 : NaN,
      heapFirstMb: h.length ? heapFirst / MB : null,
      heapSecondMb: h.length ? heapSecond / MB : null,
    };
  });
  return {
    seconds,
    requests: ctx.tally.requests - requestsBefore,
    predictions: traffic.predictions,
    p99: p99s(report),
    memory,
    trainingJobs: cycles.jobs,
    probeLoopDelayP99Ms: report.loopDelayP99Ms,
    samples: Math.min(...LATENCY_APIS.map((api) => report.latencies[api]?.length ?? 0)),
  };
}
