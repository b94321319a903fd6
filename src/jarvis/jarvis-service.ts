/**
 * JARVIS core assembled: experience collection, the Advanced Training Coordinator (queue, lock,
 * resources, placement, resilient reactor client, deploy), the auto-trigger, the HTTP API and the state
 * file. `start()` answers health with `starting` (503) until the store is open and the loops run;
 * `close()` gives running jobs back to the queue, releases their leases and can be called twice.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { isLoopback } from '../config/config.js';
import { ConfigInvalid, HttpNotReady } from '../errors.js';
import { createApp } from '../http/create-app.js';
import { serviceAllowedHosts } from '../http/origin-guard.js';
import { healthRoutes, type HealthReport } from '../http/routes/health.js';
import { jarvisExperienceRoutes } from '../http/routes/jarvis-experiences.js';
import { jarvisTrainingRoutes } from '../http/routes/jarvis-training.js';
import { openSqlDb } from '../store/open-sql.js';
import { openDatabase, type Db } from '../store/database.js';
import { ensureDir } from '../util/fs.js';
import { TRINITY_VERSION } from '../version.js';
import { assembleCoordinator, type CoordinatorParts } from './assemble.js';
import { JarvisState } from './jarvis-state.js';
import { logCoordinatorEvents } from './log-events.js';

export interface JarvisOptions {
  config: Config;
  logger: Logger;
}

export class Jarvis {
  readonly app: FastifyInstance;
  /** This process's identity as a lease holder and outbox claimer. */
  readonly instanceId = `jarvis-${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  private readonly state: JarvisState;
  private db: Db | null = null;
  private parts: CoordinatorParts | null = null;
  private ready = false;
  private port = 0;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: JarvisOptions) {
    const { config, logger } = opts;
    if (!isLoopback(config.jarvis.host) && !config.apiToken) {
      throw ConfigInvalid(`JARVIS_HOST ${config.jarvis.host} is not a loopback address; set TRINITY_API_TOKEN to serve beyond this machine`);
    }
    this.app = createApp({
      logger,
      bodyLimitBytes: config.maxRequestBodyBytes,
      apiToken: config.apiToken,
      allowedHosts: serviceAllowedHosts(config.allowedHosts, config.jarvis.host),
    });
    this.state = new JarvisState(
      {
        ready: () => this.ready,
        parts: () => this.parts,
        port: () => this.port,
        autoTrainingEnabled: config.training.autoTrainingEnabled,
        instanceId: this.instanceId,
      },
      TRINITY_VERSION,
      config.paths.crossRepo,
    );
  }

  /** The coordinator's parts once started (for tests and embedding). */
  coordinator(): CoordinatorParts | null {
    return this.parts;
  }

  /** Opens everything, starts listening and the loops, and returns the bound port. */
  async start(): Promise<number> {
    const { config, logger } = this.opts;
    ensureDir(config.paths.crossRepo);
    ensureDir(config.paths.logs);
    // On a Postgres URL this connects and migrates, then refuses while stores are left on SQLite only.
    const sql = await openSqlDb({ databaseUrl: config.databaseUrl, idleInTransactionMs: config.databaseIdleInTransactionMs, sqlite: () => (this.db = openDatabase({ path: config.databasePath })) });
    const parts = assembleCoordinator(config, sql, this.instanceId);
    logCoordinatorEvents(parts, logger.child({ component: 'coordinator' }));
    // Routes first, so health answers `starting` until the loops run.
    this.app.register(healthRoutes, {
      health: () => this.state.health() as Promise<HealthReport>,
      resources: () => this.state.resources(),
    });
    this.app.register(async (scope) => {
      scope.addHook('onRequest', async (_req, reply) => {
        if (!this.ready) {
          reply.header('retry-after', '1');
          throw HttpNotReady(this.closing ? 'stopping' : 'starting');
        }
      });
      scope.register(jarvisExperienceRoutes, { forwarder: parts.forwarder });
      scope.register(jarvisTrainingRoutes, { queue: parts.queue, reactorProblem: () => parts.worker.reactorProblem() });
    });
    await this.app.listen({ host: config.jarvis.host, port: config.jarvis.port });
    const addr = this.app.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : config.jarvis.port;
    this.parts = parts;
    parts.forwarder.start();
    parts.worker.start();
    if (config.training.autoTrainingEnabled) {
      // Several jarvis processes on one database: only the `auto-trigger` leader checks and queues.
      const log = logger.child({ component: 'leadership' });
      parts.autoLeader.on('elected', (lease) => {
        log.info({ role: parts.autoLeader.role, token: lease.token }, 'leading the auto-trigger');
        parts.auto.start();
      });
      parts.autoLeader.on('deposed', (reason) => {
        parts.auto.pause();
        log.warn({ role: parts.autoLeader.role, reason }, 'no longer leading the auto-trigger');
      });
      await parts.autoLeader.start();
    }
    const onChange = () => void this.state.writeStateFile();
    parts.runner.on('finished', onChange);
    parts.runner.on('started', onChange);
    parts.queue.on('added', onChange);
    this.ready = true;
    this.state.startHeartbeat(config.stateFileIntervalSeconds * 1000);
    logger.info({ port: this.port, home: config.home, instance_id: this.instanceId, reactor: parts.local.baseUrl }, 'jarvis ready');
    return this.port;
  }

  /** Stops taking work, gives running jobs back to the queue, flushes the outbox once, closes the database. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ready = false;
      const p = this.parts;
      await p?.autoLeader.close();
      await p?.auto.close();
      await p?.worker.close();
      p?.lock.close();
      await p?.forwarder.close();
      await this.app.close();
      await this.state.stop();
      this.db?.close();
      this.opts.logger.info('jarvis stopped');
    })();
    return this.closing;
  }
}
