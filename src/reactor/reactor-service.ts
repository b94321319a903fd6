/**
 * Reactor-Core assembled: database, experience intake, model registry, training jobs, HTTP API and
 * the state file. `start()` answers health with `starting` (503) until the store is open, the events
 * folder reconciled and interrupted jobs recovered; `close()` checkpoints running jobs and can be
 * called twice.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { isLoopback } from '../config/config.js';
import { ConfigInvalid, HttpNotReady } from '../errors.js';
import { openDatabase, type Db } from '../store/database.js';
import { openSqlDb } from '../store/open-sql.js';
import { SqliteSql, type SqlDb } from '../store/sql.js';
import { ExperienceStore, type ExperienceSink } from '../experiences/experiences-store.js';
import { ExperienceWriter } from '../experiences/experience-writer.js';
import { JobStore } from '../training/jobs-store.js';
import { runBufferThread } from '../training/buffer-thread.js';
import { ExperienceIntake, createTrainingData, intakeOptionsFromConfig } from '../experiences/index.js';
import { ModelRegistry } from '../registry/index.js';
import { TrainingService } from '../training/training-service.js';
import { EvaluationService } from '../training/evaluation-service.js';
import { dropboxLabel } from '../training/dropbox.js';
import { homeRelativeName } from '../util/shown-path.js';
import { createApp } from '../http/create-app.js';
import { serviceAllowedHosts } from '../http/origin-guard.js';
import { healthRoutes } from '../http/routes/health.js';
import { trainingRoutes } from '../http/routes/training.js';
import { experienceRoutes } from '../http/routes/experiences.js';
import { modelsRoutes } from '../http/routes/models.js';
import { evaluateRoutes } from '../http/routes/evaluate.js';
import { deploymentsRoutes } from '../http/routes/deployments.js';
import { dashboardOptionsFromConfig, dashboardRoutes } from '../http/routes/dashboard.js';
import { createDeploymentService, type DeploymentService } from '../rollout/index.js';
import { CoordinatorStore } from '../coordinator/coordinator-store.js';
import { Leadership, nodeName, ROLE_INTAKE_RECONCILE, ROLE_ROLLOUT_CONTROLLER } from '../coordinator/index.js';
import { ReactorState } from './reactor-state.js';
import { ensureDir } from '../util/fs.js';
import { TRINITY_VERSION } from '../version.js';

export interface ReactorOptions {
  config: Config;
  logger: Logger;
}

/** The roles a reactor campaigns for when several share one database (LEADER_LEASE_TTL). */
interface ReactorLeaders {
  rollout: Leadership;
  intake: Leadership;
}

export class Reactor {
  readonly app: FastifyInstance;
  /** This process's name as a holder of leader leases. */
  readonly instanceId = nodeName('reactor');
  private readonly state: ReactorState;
  private db: Db | null = null;
  private seam: SqlDb | null = null;
  private intake: ExperienceIntake | null = null;
  private training: TrainingService | null = null;
  private registry: ModelRegistry | null = null;
  private experiences: ExperienceStore | null = null;
  private writer: ExperienceWriter | null = null;
  private deployments: DeploymentService | null = null;
  /** Stable version per type for health and the state file, which stay synchronous: see modelsDeployed. */
  private deployed: Record<string, string> = {};
  private deployedRead: Promise<void> | null = null;
  private evaluation: EvaluationService | null = null;
  private leaders: ReactorLeaders | null = null;
  /** Starts and stops of the intake as the intake-reconcile role comes and goes, one after another. */
  private intakeTask: Promise<void> = Promise.resolve();
  private ready = false;
  private port = 0;
  private closing: Promise<void> | null = null;
  private readonly problems: string[] = [];

  constructor(private readonly opts: ReactorOptions) {
    const { config, logger } = opts;
    if (!isLoopback(config.reactor.host) && !config.apiToken) {
      throw ConfigInvalid(`REACTOR_CORE_HOST ${config.reactor.host} is not a loopback address; set TRINITY_API_TOKEN to serve beyond this machine`);
    }
    this.app = createApp({
      logger,
      bodyLimitBytes: config.maxRequestBodyBytes,
      apiToken: config.apiToken,
      allowedHosts: serviceAllowedHosts(config.allowedHosts, config.reactor.host, config.reactor.url),
    });
    this.state = new ReactorState(
      {
        ready: () => this.ready,
        // A full or read-only disk holding up a job makes health `degraded`, naming the job and what to do.
        problems: () => [...this.problems, ...(this.training?.problems() ?? [])],
        trainerPids: () => this.training?.trainerPids() ?? [],
        activeJobs: () => this.training?.activeJobCount() ?? 0,
        // Health and the metrics gauge are synchronous: the buffer's figures as of the previous read.
        bufferSize: () => this.experiences?.recentStats()?.totals.total ?? 0,
        bufferByType: () => {
          const stats = this.experiences?.recentStats();
          return stats ? Object.fromEntries(Object.entries(stats.types).map(([t, s]) => [t, { total: s.total, usable: s.usable }])) : {};
        },
        modelsDeployed: () => this.modelsDeployed(),
        port: () => this.port,
        leaderOf: () => (this.leaders ? Object.values(this.leaders).filter((l) => l.isLeader).map((l) => l.role) : []),
        roles: [ROLE_ROLLOUT_CONTROLLER, ROLE_INTAKE_RECONCILE],
      },
      TRINITY_VERSION,
      config.paths.crossRepo,
    );
  }

  /**
   * As of the last read of the registry, which each call starts for the next one (the state file's
   * heartbeat calls it too), as do start and every deployment event: the registry is on the async store seam.
   */
  private modelsDeployed(): Record<string, string> {
    void this.readModelsDeployed();
    return this.deployed;
  }

  private readModelsDeployed(): Promise<void> {
    this.deployedRead ??= (async () => {
      try {
        const out: Record<string, string> = {};
        for (const s of (await this.registry?.list()) ?? []) if (s.stable) out[s.modelType] = s.stable;
        this.deployed = out;
      } catch (err) {
        this.opts.logger.warn({ err }, 'could not read the stable model versions; health shows the last ones read');
      } finally {
        this.deployedRead = null;
      }
    })();
    return this.deployedRead;
  }

  /** Opens everything, starts listening, and returns the bound port. */
  async start(): Promise<number> {
    const { config, logger } = this.opts;
    for (const dir of Object.values(config.paths)) ensureDir(dir);
    if (config.databaseUrl !== undefined) this.seam = await openSqlDb({ databaseUrl: config.databaseUrl, idleInTransactionMs: config.databaseIdleInTransactionMs, sqlite: () => this.database() });
    // Routes first, so health answers `starting` while the store opens and the folder is reconciled.
    this.app.register(healthRoutes, {
      health: () => this.state.health(),
      resources: () => this.state.resources(),
      metrics: this.state.metrics,
    });
    // The dashboard (issue 6) is outside the readiness gate: the page loads at once and shows `starting`.
    this.app.register(dashboardRoutes, dashboardOptionsFromConfig(config, TRINITY_VERSION));
    this.app.register(async (scope) => {
      scope.addHook('onRequest', async (_req, reply) => {
        if (!this.ready) {
          reply.header('retry-after', '1');
          throw HttpNotReady('starting');
        }
      });
      scope.register(trainingRoutes, { training: this.trainingService() });
      scope.register(experienceRoutes, { store: this.experienceStore(), sink: this.experienceSink() });
      scope.register(modelsRoutes, { registry: this.modelRegistry(), deploymentIdOf: (t) => this.deploymentService().activeDeploymentId(t) });
      scope.register(evaluateRoutes, { evaluation: this.evaluationService() });
      scope.register(deploymentsRoutes, { deployments: this.deploymentService() });
    });
    await this.app.listen({ host: config.reactor.host, port: config.reactor.port });
    const addr = this.app.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : config.reactor.port;
    this.state.startHeartbeat(config.stateFileIntervalSeconds * 1000);

    await this.modelRegistry().reconcile();
    await this.readModelsDeployed();
    const leaders = this.leadership();
    // When it leads at start, the first drain of the events folder ends before health says ready.
    await leaders.intake.start();
    await this.intakeTask;
    await this.experienceStore().stats(); // the first figures health shows
    this.trainingService().on('event', () => void this.state.writeStateFile());
    this.trainingService().recover();
    await leaders.rollout.start();
    this.ready = true;
    void this.state.writeStateFile();
    logger.info({ port: this.port, home: config.home }, 'reactor-core ready');
    return this.port;
  }

  /**
   * Leader leases (coordinator_leases) for what must run on one node only when several reactors share the
   * database: the rollout controller loop and the events-folder intake. The API works on every node.
   */
  private leadership(): ReactorLeaders {
    if (this.leaders) return this.leaders;
    const { config, logger } = this.opts;
    const store = new CoordinatorStore(this.sql());
    const ttlMs = config.leadership.leaseTtlSeconds * 1000;
    const log = logger.child({ component: 'leadership' });
    const make = (role: string) => {
      const l = new Leadership({ store, role, ttlMs, holder: this.instanceId });
      l.on('elected', (lease) => log.info({ role, token: lease.token, holder: this.instanceId }, `leading ${role}`));
      l.on('deposed', (reason) => log.warn({ role, reason }, `no longer leading ${role}`));
      return l;
    };
    const leaders = { rollout: make(ROLE_ROLLOUT_CONTROLLER), intake: make(ROLE_INTAKE_RECONCILE) };
    leaders.rollout.on('elected', () => void this.deploymentService().lead());
    leaders.rollout.on('deposed', () => void this.deploymentService().follow());
    leaders.intake.on('elected', () => this.queueIntake(() => this.startIntake()));
    leaders.intake.on('deposed', () => this.queueIntake(() => this.stopIntake()));
    this.leaders = leaders;
    return leaders;
  }

  private queueIntake(step: () => Promise<void>): void {
    this.intakeTask = this.intakeTask.then(step).catch((err: unknown) => this.opts.logger.error({ err }, 'experience intake failed to start or stop'));
  }

  private async startIntake(): Promise<void> {
    const { config, logger } = this.opts;
    if (this.closing || this.intake) return;
    this.intake = new ExperienceIntake(intakeOptionsFromConfig(config, this.experienceSink(), logger.child({ component: 'intake' })));
    this.intake.on('error', (err: unknown) => logger.error({ err }, 'experience intake error'));
    await this.intake.start();
  }

  /** Stops watching and scanning the events folder, after the file in progress. */
  private async stopIntake(): Promise<void> {
    const intake = this.intake;
    this.intake = null;
    await intake?.close();
  }

  private database(): Db {
    this.db ??= openDatabase({ path: this.opts.config.databasePath });
    return this.db;
  }

  /**
   * The store seam (src/store/sql.ts) every store uses: Postgres when TRINITY_DATABASE_URL names one (start()
   * connects and migrates it before anything else), else the SQLite file's handle.
   */
  private sql(): SqlDb {
    if (!this.seam) {
      if (this.opts.config.databaseUrl !== undefined) throw new Error('the Postgres store opens in start()');
      this.seam = new SqliteSql(this.database());
    }
    return this.seam;
  }

  private experienceStore(): ExperienceStore {
    this.experiences ??= new ExperienceStore(this.sql(), { minQuality: this.opts.config.training.minExperienceQuality });
    return this.experiences;
  }

  /** Whether the store is a SQLite file, which a thread can open a connection of its own to. */
  private onSqliteFile(): boolean {
    return this.opts.config.databasePath !== ':memory:' && this.sql().dialect === 'sqlite';
  }

  /**
   * On SQLite, inserts go through a thread of their own (ExperienceWriter), except on an in-memory database.
   * On Postgres an insert is I/O the loop only waits for: the store itself.
   */
  private experienceSink(): ExperienceSink {
    if (!this.onSqliteFile()) return this.experienceStore();
    this.writer ??= new ExperienceWriter({ path: this.opts.config.databasePath, store: this.experienceStore() });
    return this.writer;
  }

  private modelRegistry(): ModelRegistry {
    this.registry ??= new ModelRegistry({
      db: this.sql(),
      modelsDir: this.opts.config.paths.models,
      logger: this.opts.logger.child({ component: 'registry' }),
    });
    return this.registry;
  }

  private trainingService(): TrainingService {
    const { config, logger } = this.opts;
    this.training ??= new TrainingService({
      jobs: new JobStore(this.sql()),
      data: createTrainingData(this.experienceStore()),
      bufferThread: this.onSqliteFile()
        ? (modelType, work) => runBufferThread({ databasePath: config.databasePath, minQuality: config.training.minExperienceQuality, modelType, work })
        : undefined,
      versions: this.modelRegistry(),
      assessor: this.evaluationService(),
      logger: logger.child({ component: 'training' }),
      checkpointsRoot: config.paths.checkpoints,
      checkpointsName: homeRelativeName(config.paths.checkpoints, config.home, '$TRAINING_CHECKPOINT_DIR'),
      dropboxDir: config.paths.dropbox,
      dropboxName: dropboxLabel(config.paths.dropbox, config.home),
      maxConcurrentJobs: config.training.maxConcurrentJobs,
      maxQueuedJobs: config.reactor.maxQueuedJobs,
      checkpointIntervalEpochs: config.training.checkpointIntervalEpochs,
      autoResume: config.training.autoResumeFailed,
      trainHere: config.training.reactorTrains,
      workerId: this.instanceId,
      leaseTtlSeconds: config.training.leaseTtlSeconds,
    });
    return this.training;
  }

  // ── evaluation (issue 3, item 4): figures of registered versions and of each finished export ──
  private evaluationService(): EvaluationService {
    this.evaluation ??= new EvaluationService({
      registry: this.modelRegistry(),
      minQuality: this.opts.config.training.minExperienceQuality,
      fileRoot: this.opts.config.paths.dropbox,
      fileRootName: dropboxLabel(this.opts.config.paths.dropbox, this.opts.config.home),
      logger: this.opts.logger.child({ component: 'evaluation' }),
    });
    return this.evaluation;
  }

  // ── deployments (issue 4): rollout controller, prime split, rollback ──
  private deploymentService(): DeploymentService {
    if (this.deployments) return this.deployments;
    this.deployments = createDeploymentService(this.opts.config, {
      db: this.sql(),
      registry: this.modelRegistry(),
      logger: this.opts.logger.child({ component: 'deployments' }),
      // Checked in the tick's own transaction: a node that lost its lease (paused past the TTL, or by
      // another host's clock) writes nothing, and the read cannot wait on the transaction it is in.
      leading: (tx) => this.leadership().rollout.holds(tx),
    });
    this.deployments.on('event', () => void this.readModelsDeployed());
    return this.deployments;
  }

  /** Stops intake and HTTP, lets running jobs checkpoint, closes the database. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ready = false;
      // Giving the leases up lets another reactor on the database take the roles over at once.
      await Promise.all([this.leaders?.rollout.close(), this.leaders?.intake.close()]);
      await this.intakeTask;
      await this.intake?.close();
      await this.training?.close();
      this.evaluation?.close();
      await this.deployments?.close();
      await this.app.close();
      await this.writer?.close();
      await this.state.stop();
      await this.seam?.close();
      this.db?.close();
      this.opts.logger.info('reactor-core stopped');
    })();
    return this.closing;
  }
}
