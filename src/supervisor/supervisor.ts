/**
 * `trinity up`: the three services in dependency order, then the integration check.
 *
 * Phase 1 Reactor-Core (everything else reads it) → Phase 2 J-Prime (reconciles its split from reactor),
 * then JARVIS (needs both) → Phase 3 integration verification. Each service is adopted when it already
 * answers its health probe, probed only when external, or launched and waited for. Later services get
 * the URLs the earlier ones really listen on, so ports picked by the OS (port 0) work too.
 */
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { bringUp, type BringUpContext, type Running } from './bring-up.js';
import { ChildPool, describeExit, type ChildPoolOptions } from './child-pool.js';
import { TypedEmitter } from './emitter.js';
import { readDeployedModels, verifyIntegration, workerIdOf } from './integration.js';
import { localUrl, type UpPlan } from './plan.js';
import { probeHealth } from './probe.js';
import { summaryRecord } from './summary.js';
import { rssBytes } from '../util/proc.js';
import { waitHealthy } from './wait-healthy.js';
import { isWorker, type ServiceName, type ServiceReport, type ServiceSpec, type SupervisorListener, type UpOutcome, type UpReport } from './types.js';

export interface SupervisorOptions {
  config: Config;
  plan: UpPlan;
  /** The environment every child inherits (the CLI's, with flag overrides applied). */
  env: Record<string, string | undefined>;
  /** Writes the supervisor's own records (JARVIS_HOME/logs/supervisor.log). Default: none. */
  logger?: Logger;
  /** Default: this Node binary. */
  execPath?: string;
  /** Default: the package's bin/trinity.js. */
  binPath?: string;
  /** Restart and stop timings (tests shorten them). */
  pool?: Partial<Pick<ChildPoolOptions, 'stopGraceMs' | 'restartBaseMs' | 'restartMaxMs' | 'stableAfterMs'>>;
}

/** bin/trinity.js, from dist/supervisor/ or src/supervisor/ alike. */
export const DEFAULT_BIN_PATH = fileURLToPath(new URL('../../bin/trinity.js', import.meta.url));

export class Supervisor extends TypedEmitter<SupervisorListener> {
  readonly pool: ChildPool;
  private readonly abort = new AbortController();
  private readonly running = new Map<ServiceName, Running>();
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: SupervisorOptions) {
    super((err) => opts.logger?.error({ err }, 'supervisor listener failed'));
    this.pool = new ChildPool({
      execPath: opts.execPath ?? process.execPath,
      binPath: opts.binPath ?? DEFAULT_BIN_PATH,
      waitHealthy: (name, proc) => {
        const spec = this.spec(name);
        const url = this.running.get(name)?.url ?? spec.url;
        return waitHealthy({
          probe: () => probeHealth(url, spec.healthPaths, { token: opts.config.apiToken }),
          timeoutMs: spec.timeoutMs,
          startPeriodMs: opts.plan.startPeriodMs,
          degradedGraceMs: opts.plan.degradedGraceMs,
          exited: proc.exited,
          signal: this.abort.signal,
        });
      },
      ...opts.pool,
    });
    this.forwardPoolEvents();
  }

  private spec(name: ServiceName): ServiceSpec {
    return this.opts.plan.services.find((s) => s.name === name)!;
  }

  private forwardPoolEvents(): void {
    const log = this.opts.logger;
    this.pool.on('line', (service, line, stream) => this.emit('line', service, line, stream));
    this.pool.on('crashed', (service, exit) => {
      log?.error({ child: service, child_pid: exit.pid, code: exit.code, signal: exit.signal }, `${service} exited unexpectedly (${describeExit(exit)})`);
      this.emit('crashed', service, exit);
    });
    this.pool.on('restarting', (service, attempt, delayMs) => {
      log?.warn({ child: service, attempt, delay_ms: delayMs }, `restarting ${service} in ${delayMs} ms (restart ${attempt})`);
      this.emit('restarting', service, attempt, delayMs);
    });
    this.pool.on('restarted', (service, pid, attempt, afterMs) => {
      const r = this.running.get(service);
      if (r) r.pid = pid;
      log?.info({ child: service, child_pid: pid, attempt, healthy_after_ms: afterMs }, `${service} restarted`);
      this.emit('restarted', service, pid, attempt, afterMs);
    });
    this.pool.on('restartFailed', (service, attempt, reason) => {
      log?.error({ child: service, attempt, reason }, `restart ${attempt} of ${service} failed: ${reason}`);
      this.emit('restartFailed', service, attempt, reason);
    });
  }

  /** Runs the three phases. On failure everything launched so far is stopped before it returns. */
  async start(): Promise<UpOutcome> {
    const [reactor, prime, jarvis] = (['reactor', 'prime', 'jarvis'] as const).map((n) => this.spec(n));
    // Reactor starts first but must know where J-Prime will listen (it reads prime's counters during
    // rollouts): a port 0 for a launched prime is settled now instead of after it starts.
    const primePort = prime.enabled && !prime.external && prime.port === 0 ? await freePort(prime.host) : prime.port;
    const primeSpec: ServiceSpec = primePort === prime.port ? prime : { ...prime, port: primePort, url: localUrl(prime.host, primePort), adoptable: false };
    const workers = this.opts.plan.services.filter((s) => isWorker(s.name));
    const phases: Array<[string, ServiceSpec[]]> = [
      [workers.length ? `Reactor-Core and ${workers.length} training worker${workers.length === 1 ? '' : 's'}` : 'Reactor-Core (training, registry, rollouts)', [reactor, ...workers]],
      ['J-Prime and JARVIS (serving, coordination)', [primeSpec, jarvis]],
    ];
    for (const [index, [title, specs]] of phases.entries()) {
      this.phase(index + 1, title);
      for (const spec of specs) {
        const result = await bringUp(spec, this.context(spec.name, primePort));
        if (!result.ok) {
          this.opts.logger?.error({ child: spec.name, ...result.failure }, result.failure.reason);
          await this.close();
          return result;
        }
        this.running.set(spec.name, result.running);
        this.warnIfAdoptedReactorMissesPrime(spec, primePort);
      }
    }
    this.phase(3, 'Integration verification');
    const report = await this.report();
    this.opts.logger?.info({ summary: summaryRecord(report) }, report.degraded.length ? 'up: degraded mode' : 'up: full mode');
    return { ok: true, report };
  }

  private phase(index: number, title: string): void {
    this.opts.logger?.info({ phase: index }, title);
    this.emit('phase', index, title);
  }

  private context(name: ServiceName, primePort: number): BringUpContext {
    return {
      pool: this.pool,
      env: this.childEnv(primePort),
      token: this.opts.config.apiToken,
      logsDir: this.opts.config.paths.logs,
      startPeriodMs: this.opts.plan.startPeriodMs,
      degradedGraceMs: this.opts.plan.degradedGraceMs,
      signal: this.abort.signal,
      step: (kind, message) => {
        this.opts.logger?.[kind === 'fail' ? 'error' : kind === 'warn' ? 'warn' : 'info']({ child: name }, message);
        this.emit('step', name, kind, message);
      },
    };
  }

  /**
   * The environment of a launched child: the user's, plus where the services already up really listen.
   * A launched J-Prime is found through JARVIS_PRIME_PORT, never JARVIS_PRIME_URL, which means "external".
   */
  private childEnv(primePort: number): Record<string, string | undefined> {
    const env = { ...this.opts.env };
    const reactor = this.running.get('reactor');
    if (reactor?.url) env.REACTOR_CORE_API_URL = reactor.url;
    const prime = this.spec('prime');
    if (prime.enabled && !prime.external) {
      delete env.JARVIS_PRIME_URL;
      env.JARVIS_PRIME_PORT = String(primePort);
    }
    return env;
  }

  private warnIfAdoptedReactorMissesPrime(spec: ServiceSpec, primePort: number): void {
    const prime = this.spec('prime');
    if (spec.name !== 'reactor' || this.running.get('reactor')?.mode !== 'adopted' || prime.port !== 0 || primePort === 0) return;
    this.emit('step', 'reactor', 'warn', `the adopted Reactor-Core was not started with J-Prime's port ${primePort}: give J-Prime a fixed port for rollouts to reach it`);
  }

  private async report(): Promise<UpReport> {
    const get = (n: ServiceName) => this.running.get(n);
    const up = (r: Running | undefined) => (r && r.url && (r.status === 'healthy' || r.status === 'degraded') ? r.url : null);
    const prime = get('prime');
    const workerUrls = [...this.running.values()].filter((r) => isWorker(r.spec.name)).map(up).filter((u): u is string => u !== null);
    const workerIds = (await Promise.all(workerUrls.map((u) => workerIdOf(u, this.opts.config.apiToken)))).map((id, i) => id ?? workerUrls[i]);
    const [checks, models] = await Promise.all([
      verifyIntegration({
        workerIds,
        reactorUrl: up(get('reactor')),
        primeUrl: up(prime),
        primeIsTrinity: prime?.mode !== 'external',
        jarvisUrl: up(get('jarvis')),
        token: this.opts.config.apiToken,
      }),
      up(get('reactor')) ? readDeployedModels(up(get('reactor'))!, this.opts.config.apiToken) : Promise.resolve(null),
    ]);
    for (const c of checks) this.emit('step', null, c.ok === null ? 'info' : c.ok ? 'ok' : 'fail', `${c.name}: ${c.ok === null ? `skipped (${c.detail})` : c.detail}`);
    const services = [...this.running.values()].map(toReport);
    const degraded: string[] = [];
    for (const s of services) {
      if (s.mode === 'disabled') degraded.push(`${s.title} disabled`);
      else if (s.status !== 'healthy') degraded.push(`${s.title} ${s.status}${s.problems.length ? `: ${s.problems.join('; ')}` : ''}`);
    }
    for (const c of checks) if (c.ok === false) degraded.push(`${c.name}: ${c.detail}`);
    return { services, checks, models, degraded };
  }

  /** Stops every service we launched (not adopted or external ones). Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      await this.pool.close();
      this.opts.logger?.info('supervisor stopped its services');
    })();
    return this.closing;
  }
}

function toReport(r: Running): ServiceReport {
  const memory = r.pid ? rssBytes(r.pid) : 0;
  return {
    name: r.spec.name,
    title: r.spec.title,
    mode: r.mode,
    pid: r.pid,
    port: r.port,
    url: r.url,
    healthyAfterMs: r.healthyAfterMs,
    memoryBytes: memory > 0 ? memory : null,
    status: r.status,
    problems: r.problems,
  };
}

/** A port the OS considers free now; the child binds it a moment later (a tiny race we accept). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}
