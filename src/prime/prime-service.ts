/**
 * J-Prime assembled: the model server, its HTTP API, the reconcile pull from reactor and the state file.
 * `start()` listens at once (health answers `starting`, 503, and predictions 503 with Retry-After) and
 * returns once the first reconcile attempt has finished, loaded or not; `close()` can be called twice. When reactor cannot be reached at start,
 * prime serves the stable versions its previous run last wrote to prime_state.json, so a restart while
 * reactor is down does not take the assistant's models away; reactor's split replaces them once it answers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { isLoopback } from '../config/config.js';
import { ConfigInvalid } from '../errors.js';
import { createApp } from '../http/create-app.js';
import { serviceAllowedHosts } from '../http/origin-guard.js';
import { healthRoutes } from '../http/routes/health.js';
import { primeModelsRoutes } from '../http/routes/prime-models.js';
import { primePredictRoutes } from '../http/routes/prime-predict.js';
import { isModelType } from '../model-types.js';
import { InflightCounter, ModelServer, type SplitSpec } from '../serving/index.js';
import { ensureDir } from '../util/fs.js';
import { TRINITY_VERSION } from '../version.js';
import { PRIME_STATE_FILE, PrimeState } from './prime-state.js';
import { Reconciler } from './reconciler.js';

/** prime_state.json is rewritten at least this often (CONTRACT §4: "every few seconds"). */
const STATE_FILE_MAX_INTERVAL_MS = 2_000;

/**
 * The stable versions a previous prime wrote to its state file (`models`), as splits without a canary: a
 * canary is only served under reactor's rollout, which watches its errors. Empty when there is no file or
 * it is unreadable.
 */
function previousStableSplits(stateFile: string): SplitSpec[] {
  let models: unknown;
  try {
    models = (JSON.parse(readFileSync(stateFile, 'utf8')) as { models?: unknown }).models;
  } catch {
    return [];
  }
  if (models === null || typeof models !== 'object') return [];
  const out: SplitSpec[] = [];
  for (const [type, raw] of Object.entries(models)) {
    const stable = (raw as { stable?: unknown } | null)?.stable;
    if (isModelType(type) && typeof stable === 'string' && stable !== '') out.push({ modelType: type, stable, canary: null, canaryPercentage: 0 });
  }
  return out;
}

export interface PrimeOptions {
  config: Config;
  logger: Logger;
}

/**
 * Prime answers small requests on a hot path: a larger body would hold its event loop while it is parsed
 * (a 50 MB text took 12 s). Per-field bounds are in prime-predict.ts (INPUT_LIMITS).
 */
export const PRIME_MAX_BODY_BYTES = 1024 * 1024;

export class Prime {
  readonly app: FastifyInstance;
  readonly server: ModelServer;
  private readonly state: PrimeState;
  private readonly reconciler: Reconciler;
  private readonly inflight = new InflightCounter();
  /** Read before this process's heartbeat overwrites the file. */
  private readonly previous: SplitSpec[];
  private ready = false;
  private port = 0;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: PrimeOptions) {
    const { config, logger } = opts;
    if (!isLoopback(config.prime.host) && !config.apiToken) {
      throw ConfigInvalid(`JARVIS_PRIME_HOST ${config.prime.host} is not a loopback address; set TRINITY_API_TOKEN to serve beyond this machine`);
    }
    this.previous = previousStableSplits(join(config.paths.crossRepo, PRIME_STATE_FILE));
    this.app = createApp({
      logger,
      bodyLimitBytes: Math.min(config.maxRequestBodyBytes, PRIME_MAX_BODY_BYTES),
      apiToken: config.apiToken,
      allowedHosts: serviceAllowedHosts(config.allowedHosts, config.prime.host, config.prime.url),
    });
    this.state = new PrimeState(
      {
        ready: () => this.ready,
        problems: () => this.problems(),
        models: () => this.models(),
        activeRequests: () => this.inflight.active,
        requestsLastMinute: () => this.server.requestsLastMinute(),
        port: () => this.port,
      },
      TRINITY_VERSION,
      config.paths.crossRepo,
    );
    this.server = new ModelServer({ modelsDir: config.paths.models, logger: logger.child({ component: 'serving' }), metrics: this.state.metrics, starting: true });
    this.reconciler = new Reconciler({
      server: this.server,
      reactorUrl: config.reactor.url,
      token: config.apiToken,
      intervalMs: config.prime.reconcileIntervalSeconds * 1000,
      logger: logger.child({ component: 'reconcile' }),
    });
  }

  private problems(): string[] {
    const out = this.server.recentFailures().map((f) => `${f.modelType} ${f.version} failed to load at ${f.at}: ${f.error}`);
    const reactor = this.reconciler.reactorError;
    if (reactor !== null) out.push(`reactor at ${this.opts.config.reactor.url} unreachable (${reactor}); serving the last split it gave`);
    return out;
  }

  private models(): Record<string, { stable: string | null; canary: string | null; canary_percentage: number }> {
    const out: Record<string, { stable: string | null; canary: string | null; canary_percentage: number }> = {};
    for (const v of this.server.splits()) out[v.modelType] = { stable: v.stable, canary: v.canary, canary_percentage: v.canaryPercentage };
    return out;
  }

  /** Listens, loads what reactor says is deployed, and returns the bound port. */
  async start(): Promise<number> {
    const { config, logger } = this.opts;
    ensureDir(config.paths.crossRepo);
    this.app.register(healthRoutes, { health: () => this.state.health(), resources: () => this.state.resources(), metrics: this.state.metrics });
    this.app.register(primePredictRoutes, { server: this.server, inflight: this.inflight });
    this.app.register(primeModelsRoutes, { server: this.server });
    await this.app.listen({ host: config.prime.host, port: config.prime.port });
    const addr = this.app.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : config.prime.port;
    this.state.startHeartbeat(Math.min(config.stateFileIntervalSeconds * 1000, STATE_FILE_MAX_INTERVAL_MS));
    await this.reconciler.start();
    if (this.reconciler.reactorError !== null) await this.restorePrevious();
    // Only now may "nothing loaded" mean "nothing deployed": until here predictions answer 503 + Retry-After.
    this.server.started();
    this.ready = true;
    void this.state.writeStateFile();
    logger.info({ port: this.port, models: this.models(), reactor: config.reactor.url }, 'j-prime ready');
    return this.port;
  }

  /** Reactor is unreachable: serve the previous run's stable versions, for each type nothing else loaded. */
  private async restorePrevious(): Promise<void> {
    const served = new Set(this.server.splits().map((v) => v.modelType));
    for (const spec of this.previous.filter((p) => !served.has(p.modelType))) {
      try {
        await this.server.applySplit(spec, 'reconcile');
        this.opts.logger.warn({ model_type: spec.modelType, stable: spec.stable }, 'reactor unreachable at start; serving the stable version the previous run served');
      } catch (err) {
        this.opts.logger.warn({ model_type: spec.modelType, error: (err as Error).message }, 'could not restore the previous split');
      }
    }
  }

  /** Stops reconciling and HTTP, then disposes every loaded version. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ready = false;
      await this.reconciler.close();
      await this.app.close();
      await this.server.close();
      await this.state.stop();
      this.opts.logger.info('j-prime stopped');
    })();
    return this.closing;
  }
}
