/**
 * Reactor, J-Prime and JARVIS assembled in this process (real apps, real stores, a temporary home) with
 * every route they register recorded through Fastify's onRoute hook, so a new route is fuzzed without
 * anyone listing it. Reactor trains one small model first so prime has something to serve.
 */
import type { FastifyInstance } from 'fastify';
import { rmSync } from 'node:fs';
import { parseConfig } from '../../src/config/config.js';
import { Jarvis } from '../../src/jarvis/index.js';
import { Prime } from '../../src/prime/index.js';
import { Reactor } from '../../src/reactor/reactor-service.js';
import { createLogger } from '../../src/util/logger.js';
import { freePort } from '../../soak/cluster.js';
import { ExperienceSource } from '../../soak/experiences.js';
import { tempHome, waitFor } from '../helpers/processes.js';

export interface Route {
  method: string;
  url: string;
}

export interface FuzzService {
  name: 'reactor' | 'prime' | 'jarvis';
  app: FastifyInstance;
  routes: Route[];
}

export interface FuzzServices {
  home: string;
  services: FuzzService[];
  /** Ids that exist (a finished job, its deployment, a served version), so fuzzed params also hit real resources. */
  knownIds: string[];
  close(): Promise<void>;
}

function recordRoutes(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  return routes;
}

/** Small limits so the fuzzer reaches them: a 256 KB body, one running and one queued training. */
export async function startFuzzServices(): Promise<FuzzServices> {
  const home = tempHome('trinity-fuzz-');
  const ports = { reactor: await freePort(), prime: await freePort(), jarvis: await freePort() };
  const env = {
    JARVIS_HOME: home,
    REACTOR_CORE_PORT: String(ports.reactor),
    JARVIS_PRIME_PORT: String(ports.prime),
    JARVIS_PORT: String(ports.jarvis),
    REACTOR_CORE_API_URL: `http://127.0.0.1:${ports.reactor}`,
    JARVIS_PRIME_URL: `http://127.0.0.1:${ports.prime}`,
    MAX_REQUEST_BODY_MB: '0.25',
    MAX_CONCURRENT_TRAINING_JOBS: '1',
    MAX_QUEUED_TRAINING_JOBS: '1',
    AUTO_TRAINING_ENABLED: 'false',
    // Triggered jobs stay queued: the fuzzer must not start a training per accepted trigger.
    REACTOR_CORE_ENABLED: 'false',
    EXPERIENCE_RECONCILE_INTERVAL: '1',
  };
  const logger = (service: string) => createLogger({ service, level: 'silent' });
  const reactor = new Reactor({ config: parseConfig({ ...env, REACTOR_CORE_ENABLED: 'true' }), logger: logger('reactor') });
  const reactorRoutes = recordRoutes(reactor.app);
  await reactor.start();

  const source = new ExperienceSource(14);
  const post = await reactor.app.inject({ method: 'POST', url: '/api/experiences', payload: { experiences: source.batch(300) } });
  if (post.statusCode !== 200) throw new Error(`seeding experiences failed: ${post.body}`);
  await reactor.app.inject({ method: 'POST', url: '/api/training/start', payload: { model_type: 'nlu', job_id: 'fuzz-base', epochs: 2 } });
  await waitFor(async () => (await reactor.app.inject({ method: 'GET', url: '/api/training/status/fuzz-base' })).json<{ status: string }>().status === 'completed', 60_000, 'the first model');

  const prime = new Prime({ config: parseConfig(env), logger: logger('prime') });
  const primeRoutes = recordRoutes(prime.app);
  await prime.start();
  const jarvis = new Jarvis({ config: parseConfig(env), logger: logger('jarvis') });
  const jarvisRoutes = recordRoutes(jarvis.app);
  await jarvis.start();

  const deployments = (await reactor.app.inject({ method: 'GET', url: '/api/models/deployments' })).json<{ deployments: { deployment_id: string }[] }>().deployments;
  return {
    home,
    services: [
      { name: 'reactor', app: reactor.app, routes: reactorRoutes },
      { name: 'prime', app: prime.app, routes: primeRoutes },
      { name: 'jarvis', app: jarvis.app, routes: jarvisRoutes },
    ],
    knownIds: ['fuzz-base', 'nlu', 'v1.0.0', ...deployments.map((d) => d.deployment_id)],
    async close() {
      await jarvis.close();
      await prime.close();
      await reactor.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
