/**
 * The services `trinity up` launched: their processes, restarts with exponential backoff after a crash,
 * and one close() that stops them in reverse dependency order (jarvis, prime, reactor), so none of them
 * sees a service it depends on vanish while it still works. Adopted and external services never enter
 * the pool: what we did not start, we do not stop.
 */
import { TypedEmitter } from './emitter.js';
import { ServiceProcess } from './service-process.js';
import type { HealthOutcome } from './wait-healthy.js';
import type { ChildExit, ChildPoolListener, ServiceName } from './types.js';

/** SIGTERM → SIGKILL grace per service: reactor checkpoints running jobs when asked to stop. */
export const STOP_GRACE_MS = 20_000;
/** First restart delay; each further crash in a row doubles it… */
export const RESTART_BASE_MS = 1_000;
/** …up to this cap, so a service that keeps crashing is retried twice a minute, not hammered. */
export const RESTART_MAX_MS = 30_000;
/** A restarted service that stays up this long counts as recovered: the next crash starts at 1 s again. */
export const STABLE_AFTER_MS = 60_000;

export interface ChildPoolOptions {
  execPath: string;
  binPath: string;
  /** Waits for a (re)started child to answer healthy; the pool uses it after each restart. */
  waitHealthy: (name: ServiceName, proc: ServiceProcess) => Promise<HealthOutcome>;
  /** Default STOP_GRACE_MS. */
  stopGraceMs?: number;
  /** Default RESTART_BASE_MS. */
  restartBaseMs?: number;
  /** Default RESTART_MAX_MS. */
  restartMaxMs?: number;
  /** Default STABLE_AFTER_MS. */
  stableAfterMs?: number;
}

interface Member {
  name: ServiceName;
  port: number;
  env: Record<string, string | undefined>;
  current: ServiceProcess;
  supervised: boolean;
  /** Crashes in a row since it last ran STABLE_AFTER_MS; sets the backoff. */
  failures: number;
  restarts: number;
  healthySince: number;
  timer: NodeJS.Timeout | null;
}

export class ChildPool extends TypedEmitter<ChildPoolListener> {
  private readonly members: Member[] = [];
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: ChildPoolOptions) {
    super();
  }

  /** Spawns `trinity <name> --port <port>`; unsupervised until `supervise()` (a failed start is not restarted). */
  launch(name: ServiceName, port: number, env: Record<string, string | undefined>): ServiceProcess {
    const current = this.spawn(name, port, env);
    this.members.push({ name, port, env, current, supervised: false, failures: 0, restarts: 0, healthySince: Date.now(), timer: null });
    return current;
  }

  /** From now on a crash of `name` is restarted, on `port` (the one it reported, so URLs given to others hold). */
  supervise(name: ServiceName, port: number): void {
    const m = this.member(name);
    if (!m || m.supervised) return;
    m.supervised = true;
    m.port = port;
    m.healthySince = Date.now();
    this.watch(m);
  }

  /** The process currently running `name`, if we launched it. */
  process(name: ServiceName): ServiceProcess | undefined {
    return this.member(name)?.current;
  }

  private member(name: ServiceName): Member | undefined {
    return this.members.find((m) => m.name === name);
  }

  private spawn(name: ServiceName, port: number, env: Record<string, string | undefined>): ServiceProcess {
    const proc = new ServiceProcess({ name, execPath: this.opts.execPath, binPath: this.opts.binPath, port, env });
    proc.on('line', (line, stream) => this.emit('line', name, line, stream));
    return proc;
  }

  private watch(m: Member): void {
    const proc = m.current;
    void proc.exited.then((exit) => {
      if (this.closing || proc.stopRequested || m.current !== proc) return;
      void proc.sweep();
      this.onCrash(m, exit);
    });
  }

  private onCrash(m: Member, exit: ChildExit): void {
    this.emit('crashed', m.name, exit);
    if (Date.now() - m.healthySince >= (this.opts.stableAfterMs ?? STABLE_AFTER_MS)) m.failures = 0;
    this.scheduleRestart(m);
  }

  private scheduleRestart(m: Member): void {
    m.failures += 1;
    m.restarts += 1;
    const base = this.opts.restartBaseMs ?? RESTART_BASE_MS;
    const delay = Math.min(this.opts.restartMaxMs ?? RESTART_MAX_MS, base * 2 ** (m.failures - 1));
    const attempt = m.restarts;
    this.emit('restarting', m.name, attempt, delay);
    m.timer = setTimeout(() => {
      m.timer = null;
      void this.restart(m, attempt);
    }, delay);
  }

  private async restart(m: Member, attempt: number): Promise<void> {
    if (this.closing) return;
    const proc = this.spawn(m.name, m.port, m.env);
    m.current = proc;
    const outcome = await this.opts.waitHealthy(m.name, proc);
    if (this.closing) return;
    if (outcome.ok) {
      m.healthySince = Date.now();
      this.emit('restarted', m.name, proc.pid, attempt, outcome.afterMs);
      this.watch(m);
      return;
    }
    const reason = outcome.reason === 'exited' ? `exited (${describeExit(outcome.exit)})` : outcome.reason === 'timeout' ? 'no healthy answer in time' : outcome.reason;
    this.emit('restartFailed', m.name, attempt, reason);
    await proc.stop(this.opts.stopGraceMs ?? STOP_GRACE_MS);
    if (!this.closing) this.scheduleRestart(m);
  }

  /**
   * Stops every launched service, last launched first, each with SIGTERM and up to the grace before
   * SIGKILL, then sweeps what they forked. Safe to call twice: same promise.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const m of [...this.members].reverse()) {
        if (m.timer) clearTimeout(m.timer);
        m.timer = null;
        await m.current.stop(this.opts.stopGraceMs ?? STOP_GRACE_MS);
      }
    })();
    return this.closing;
  }

  /** SIGKILL to everything now (a second Ctrl-C, or the supervisor itself exiting). Synchronous on purpose. */
  killAll(): void {
    for (const m of this.members) {
      if (m.timer) clearTimeout(m.timer);
      if (!m.current.hasExited) m.current.killGroup();
    }
  }
}

export function describeExit(exit: ChildExit | undefined): string {
  if (!exit) return 'unknown';
  if (exit.signal) return `signal ${exit.signal}`;
  return exit.code === null ? 'could not be spawned' : `code ${exit.code}`;
}
