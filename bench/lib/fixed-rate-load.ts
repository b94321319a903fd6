/**
 * The fixed-rate load generator, run as its own process (http-load.ts starts it): POSTs the given bodies
 * in turn at evenly spaced times (`rate` per second, not bursts: autocannon's overallRate sends each
 * second's quota flat out and then idles), over up to `connections` keep-alive connections, and prints one
 * JSON line of FixedRateFigures. Latency runs from handing the request to the client until the response
 * has ended (milliseconds, to the microsecond); a request waiting for a free connection counts its wait.
 */
import { Agent, request } from 'node:http';

export interface FixedRateJob {
  url: string;
  bodies: string[];
  rate: number;
  seconds: number;
  connections: number;
}

export interface FixedRateFigures {
  requests: number;
  /** Requests per second actually achieved. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Non-2xx answers and failed requests. */
  errors: number;
  /** The largest delay of a send behind its planned time: the generator kept up if this stays small. */
  maxSendLagMs: number;
}

/** Timer slack: a tick sends every request whose time has come. */
const START_DELAY_MS = 50;

function percentile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function runFixedRate(job: FixedRateJob): Promise<FixedRateFigures> {
  const url = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
  const total = Math.round(job.rate * job.seconds);
  const latencies = new Float64Array(total);
  const interval = 1000 / job.rate;
  let sent = 0;
  let finished = 0;
  let errors = 0;
  let maxLag = 0;
  const t0 = performance.now() + START_DELAY_MS;
  return new Promise((resolve) => {
    const end = () => {
      if (++finished < total) return;
      const duration = (performance.now() - t0) / 1000;
      agent.destroy();
      const ok = latencies.filter((l) => !Number.isNaN(l)).sort();
      resolve({ requests: total, rps: total / duration, p50Ms: percentile(ok, 0.5), p99Ms: percentile(ok, 0.99), maxMs: ok.at(-1) ?? NaN, errors, maxSendLagMs: maxLag });
    };
    const send = (i: number) => {
      const body = job.bodies[i % job.bodies.length];
      const start = performance.now();
      maxLag = Math.max(maxLag, start - (t0 + i * interval));
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies[i] = performance.now() - start;
            if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) errors++;
            end();
          });
        },
      );
      req.on('error', () => {
        latencies[i] = NaN;
        errors++;
        end();
      });
      req.end(body);
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) send(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, t0 + sent * interval - performance.now()));
    };
    setTimeout(tick, START_DELAY_MS);
  });
}

// As a child process: the job on stdin, the figures on stdout.
if (process.argv[2] === '--child') {
  const chunks: Buffer[] = [];
  process.stdin.on('data', (c: Buffer) => chunks.push(c));
  process.stdin.on('end', () => {
    void runFixedRate(JSON.parse(Buffer.concat(chunks).toString('utf8')) as FixedRateJob).then((f) => process.stdout.write(`${JSON.stringify(f)}\n`));
  });
}
