/** Builds the reactor's DeploymentService from the configuration: prime's URL and token, AB_TEST_*, ROLLOUT_STEPS, the tick. */
import { PrimeClient } from '../client/index.js';
import type { Config } from '../config/config.js';
import type { ModelRegistry } from '../registry/index.js';
import type { Sql, SqlDb } from '../store/sql.js';
import { DeploymentService } from './deployment-service.js';
import type { DeploymentLogger } from './types.js';

export interface DeploymentDeps {
  db: SqlDb;
  registry: ModelRegistry;
  logger?: DeploymentLogger;
  /** The rollout-controller lease check (see DeploymentServiceOptions.leading). */
  leading?: (tx: Sql) => boolean | Promise<boolean>;
}

export function createDeploymentService(config: Config, deps: DeploymentDeps): DeploymentService {
  return new DeploymentService({
    ...deps,
    prime: new PrimeClient({ baseUrl: config.prime.url, token: config.apiToken }),
    defaults: {
      rolloutSteps: config.abTest.rolloutSteps,
      initialPercentage: config.abTest.initialPercentage,
      minSamples: config.abTest.minSamples,
      confidence: config.abTest.confidenceThreshold,
    },
    tickMs: config.deployment.tickMs,
  });
}
