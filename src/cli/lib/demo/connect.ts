/**
 * Before the demo sends anything: all three services answer, JARVIS will train on its own, and the
 * demo talks to the Reactor-Core JARVIS uses. Anything missing stops the demo with the next step.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ReactorClient } from '../../../client/index.js';
import { DemoStopped, hostResourcesSchema, jarvisHealthSchema, ServiceApi, type JarvisHealth } from './api.js';
import type { DemoServices } from './round.js';

export interface ConnectOptions {
  jarvisUrl: string;
  /** Used when JARVIS does not say which reactor it uses. */
  reactorUrl: string;
  primeUrl: string;
  token: string | undefined;
}

export interface Connected {
  services: DemoServices;
  jarvisHealth: JarvisHealth;
  hostTotalGb: number | null;
}

/** A service that has just been started says `starting` (503) for a moment. */
const STARTING_GRACE_MS = 30_000;
const anyHealth = z.looseObject({ status: z.string() });

async function healthy<S extends z.ZodType<{ status: string }>>(api: ServiceApi, path: string, schema: S): Promise<z.output<S>> {
  const until = Date.now() + STARTING_GRACE_MS;
  for (;;) {
    const h = await api.get(path, schema, [503]);
    if (h.status !== 'starting') return h;
    if (Date.now() > until) throw new DemoStopped(`${api.name} at ${api.baseUrl} is still starting after ${STARTING_GRACE_MS / 1000} s`, "see its log in the `npx trinity up` terminal");
    await sleep(500);
  }
}

export async function connect(o: ConnectOptions): Promise<Connected> {
  const jarvis = new ServiceApi('JARVIS', o.jarvisUrl, o.token);
  const jarvisHealth = await healthy(jarvis, '/health', jarvisHealthSchema);
  if (jarvisHealth.auto_training?.enabled === false) {
    throw new DemoStopped(
      'JARVIS runs with auto-training off (AUTO_TRAINING_ENABLED=false), so it would never train on what the demo sends',
      'restart `npx trinity up` without AUTO_TRAINING_ENABLED=false',
    );
  }
  const reactorUrl = jarvisHealth.reactor?.url ?? o.reactorUrl;
  const reactor = new ServiceApi('Reactor-Core', reactorUrl, o.token);
  const prime = new ServiceApi('J-Prime', o.primeUrl, o.token);
  await healthy(reactor, '/api/health', anyHealth);
  await healthy(prime, '/health', anyHealth);
  const host = await jarvis.get('/api/resources', hostResourcesSchema);
  return {
    services: { jarvis, reactor, prime, reactorClient: new ReactorClient({ baseUrl: reactorUrl, token: o.token }) },
    jarvisHealth,
    hostTotalGb: host.memory_total_gb ?? null,
  };
}
