/**
 * The soak's side of the latency probe (probe-process.ts): starts it as a child process, tells it when
 * timing starts and ends, and folds its report into the soak's tallies (its acknowledged experiences
 * into the ledger, its 5xx answers into the count), so what it sent is checked like everything else.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { SoakContext } from './context.js';
import type { ProbeCommand, ProbeJob, ProbeReport } from './probe-process.js';

/** Texts the probe cycles through. */
const PROBE_TEXTS = 500;
/** Pause between rounds: a steady trickle, not load of its own. */
const ROUND_PAUSE_MS = 20;
/** A report must come this long after `stop` or the probe's own deadline (a round's requests time out after 15 s each). */
const REPORT_TIMEOUT_MS = 120_000;

/** The probe's file: the .ts beside this one under vitest (Node strips its types), else the compiled .js. */
function probeEntry(): { file: string; execArgv: string[] } {
  const ts = import.meta.filename.endsWith('.ts');
  return { file: join(import.meta.dirname, ts ? 'probe-process.ts' : 'probe-process.js'), execArgv: ts ? ['--experimental-strip-types', '--no-warnings'] : [] };
}

export class LatencyProbe {
  private readonly child: ChildProcess;
  private readonly report: Promise<ProbeReport>;
  /** When the probe ends its run by itself (`maxMs` after the start). */
  private readonly deadline: number;

  /** `rounds`: timed rounds after `warmupRounds`; null to time until `stop()` (or `maxMs`). */
  constructor(
    private readonly ctx: SoakContext,
    name: string,
    warmupRounds: number,
    rounds: number | null,
    maxMs: number,
  ) {
    this.deadline = Date.now() + maxMs;
    const { file, execArgv } = probeEntry();
    this.child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.report = new Promise((resolve, reject) => {
      this.child.once('message', (m) => resolve(m as ProbeReport));
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => reject(new Error(`the latency probe exited (${signal ?? code}) before it reported`)));
    });
    const job: ProbeJob = {
      reactor: ctx.cluster.url('reactor'),
      prime: ctx.cluster.url('prime'),
      jarvis: ctx.cluster.url('jarvis'),
      warmupRounds,
      rounds,
      pauseMs: ROUND_PAUSE_MS,
      maxMs,
      batchSize: 10,
      texts: Array.from({ length: PROBE_TEXTS }, () => ctx.source.text()),
      noncePrefix: `probe-${name}-`,
    };
    this.child.send(job);
  }

  /** Drops what was timed so far: warm-up is over. */
  measure(): void {
    this.send({ kind: 'measure' });
  }

  /** Ends the run (when started without a round count) and folds the report into the soak's tallies. */
  async stop(): Promise<ProbeReport> {
    this.send({ kind: 'stop' });
    return this.finished();
  }

  /** The report, once the probe is done, folded into the soak's tallies. */
  async finished(): Promise<ProbeReport> {
    // An idle run is awaited without a stop: it may take until its own deadline.
    const timeout = setTimeout(() => this.child.kill('SIGKILL'), Math.max(0, this.deadline - Date.now()) + REPORT_TIMEOUT_MS);
    try {
      const report = await this.report;
      this.fold(report);
      return report;
    } finally {
      clearTimeout(timeout);
    }
  }

  private send(c: ProbeCommand): void {
    if (this.child.connected) this.child.send(c);
  }

  private fold(r: ProbeReport): void {
    const { ledger, tally } = this.ctx;
    for (const path of ['reactor-http', 'jarvis-http'] as const) for (const nonce of r.acked[path]) ledger.acked.set(nonce, path);
    ledger.sent += r.sent;
    ledger.unacked += r.unacked;
    tally.requests += r.requests;
    tally.networkErrors += r.networkErrors;
    tally.backPressure += r.backPressure;
    tally.countServerErrors(r.serverErrorCount, r.serverErrors);
  }
}
