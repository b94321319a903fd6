/**
 * A DeploymentService on a temp database file (or the handles `open` gives) with registered nlu versions,
 * a fake prime on an ephemeral port, and a Fastify app with the deployment and model routes for `inject`.
 * `reopen()` is a reactor restart: a new service and app on a new handle of the same database.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { PrimeClient } from '../../src/client/index.js';
import { installErrorHandling } from '../../src/http/error-handler.js';
import { deploymentsRoutes } from '../../src/http/routes/deployments.js';
import { modelsRoutes } from '../../src/http/routes/models.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { DeploymentService } from '../../src/rollout/index.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSql, type SqlDb } from '../../src/store/sql.js';
import { FakePrime } from './helpers.js';

/** Fast enough that a rollout with 50 ms steps finishes in well under a second. */
export const TICK_MS = 20;

export interface ServiceFixture {
  fake: FakePrime;
  service: DeploymentService;
  app: FastifyInstance;
  registry: ModelRegistry;
  db: SqlDb;
  /** Closes service, app and database handle, then opens them again on the same database. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

/** val_accuracy of v1.0.0 (stable), v1.0.1 (better) and v1.0.2 (clearly worse). */
export const ACCURACIES = [0.88, 0.9, 0.8];

export interface ServiceFixtureOptions {
  /** The service's rollout-controller lease check (default: always leads). */
  leading?: () => boolean;
  /** A new handle on the fixture's database at each call, closed by its owner (default: a temp SQLite file, closed here). */
  open?: () => Promise<SqlDb>;
}

export async function createServiceFixture(o: ServiceFixtureOptions = {}): Promise<ServiceFixture> {
  const root = mkdtempSync(join(tmpdir(), 'trinity-rollout-'));
  const dbPath = join(root, 'trinity.db');
  const modelsDir = join(root, 'models');
  const fake = await new FakePrime().start();
  const sqlite = new Set<SqliteSql>();
  const open =
    o.open ??
    (async () => {
      const h = new SqliteSql(openDatabase({ path: dbPath }));
      sqlite.add(h);
      return h;
    });

  let db = await open();
  let registry = new ModelRegistry({ db, modelsDir });
  for (const [i, acc] of ACCURACIES.entries()) {
    const src = join(root, `export-${i}`);
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'model.json'), JSON.stringify({ i }));
    await registry.register({ modelType: 'nlu', jobId: `job-${i}`, sourceDir: src, metrics: { val_accuracy: acc }, counts: { total: 100 } });
  }

  const build = async (): Promise<{ service: DeploymentService; app: FastifyInstance }> => {
    const service = new DeploymentService({
      db,
      registry,
      prime: new PrimeClient({ baseUrl: fake.url, statsTimeoutMs: 1_000, splitTimeoutMs: 2_000 }),
      defaults: { rolloutSteps: [10, 25, 50, 75, 100], initialPercentage: 10, minSamples: 50, confidence: 0.95 },
      tickMs: TICK_MS,
      leading: o.leading,
    });
    const app: FastifyInstance = Fastify();
    installErrorHandling(app);
    await app.register(modelsRoutes, { registry, deploymentIdOf: (t) => service.activeDeploymentId(t) });
    await app.register(deploymentsRoutes, { deployments: service });
    await app.ready();
    // The first read sets prime's mark, as a reactor that has been running for a while would have it.
    await service.tick();
    await service.start();
    return { service, app };
  };

  const fx: ServiceFixture = { fake, registry, db, ...(await build()), reopen: async () => {}, close: async () => {} };
  const shut = async () => {
    await fx.service.close();
    await fx.service.close();
    await fx.app.close();
    for (const h of sqlite) h.db.close();
    sqlite.clear();
  };
  fx.reopen = async () => {
    await shut();
    db = await open();
    registry = new ModelRegistry({ db, modelsDir });
    Object.assign(fx, { db, registry, ...(await build()) });
  };
  fx.close = async () => {
    await shut();
    await fake.close();
    rmSync(root, { recursive: true, force: true });
  };
  return fx;
}

export async function waitFor<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
