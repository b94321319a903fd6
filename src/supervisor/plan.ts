/**
 * What `trinity up` will do, from the resolved Config and the few variables only the supervisor reads:
 * one ServiceSpec per service with its port, URL, health paths and timeout. The timeouts are the design's
 * (60 s Reactor-Core, 30 s J-Prime; JARVIS gets J-Prime's), adjustable for slow machines:
 *
 * - `TRINITY_UP_TIMEOUT_SCALE` (default 1): multiplies every timeout, e.g. 3 on a loaded CI runner;
 * - `TRINITY_UP_REACTOR_TIMEOUT`, `TRINITY_UP_PRIME_TIMEOUT`, `TRINITY_UP_JARVIS_TIMEOUT` (seconds):
 *   one service's timeout, before scaling.
 */
import type { Config, Env } from '../config/config.js';
import { ConfigInvalid } from '../errors.js';
import type { SERVICE_NAMES, ServiceSpec } from './types.js';

type MainService = (typeof SERVICE_NAMES)[number];

/** Training workers `trinity up --workers` may start on one machine. */
export const MAX_UP_WORKERS = 16;

/** The design's health timeouts, in milliseconds. */
export const DEFAULT_TIMEOUTS_MS: Readonly<Record<MainService, number>> = { reactor: 60_000, prime: 30_000, jarvis: 30_000 };

/** Failed probes in the first seconds after launch are normal and not reported. */
export const START_PERIOD_MS = 5_000;

/** A `degraded` answer that lasts this long is final for startup (see wait-healthy.ts). */
export const DEGRADED_GRACE_MS = 5_000;

const TIMEOUT_VARS: Readonly<Record<MainService, string>> = {
  reactor: 'TRINITY_UP_REACTOR_TIMEOUT',
  prime: 'TRINITY_UP_PRIME_TIMEOUT',
  jarvis: 'TRINITY_UP_JARVIS_TIMEOUT',
};

export interface UpPlan {
  services: ServiceSpec[];
  startPeriodMs: number;
  degradedGraceMs: number;
}

/** `workers`: training workers to start after the reactor (`trinity up --workers N`). */
export function createPlan(config: Config, env: Env, workers = 0): UpPlan {
  const scale = positive(env, 'TRINITY_UP_TIMEOUT_SCALE') ?? 1;
  const timeout = (name: MainService) => Math.round((positive(env, TIMEOUT_VARS[name]) ?? DEFAULT_TIMEOUTS_MS[name] / 1000) * 1000 * scale);
  const prime = config.prime;
  const services: ServiceSpec[] = [
    {
      name: 'reactor',
      title: 'Reactor-Core',
      serviceId: 'reactor-core',
      enabled: config.reactor.enabled,
      external: false,
      host: config.reactor.host,
      port: config.reactor.port,
      url: config.reactor.url,
      // REACTOR_CORE_API_URL names a reactor to look for even when our own would pick its port.
      adoptable: config.reactor.port !== 0 || (env.REACTOR_CORE_API_URL ?? '').trim() !== '',
      healthPaths: ['/api/health'],
      timeoutMs: timeout('reactor'),
    },
    {
      name: 'prime',
      title: 'J-Prime',
      // An external J-Prime may be llama.cpp or Ollama: any healthy answer will do.
      serviceId: prime.external ? null : 'j-prime',
      enabled: prime.enabled,
      external: prime.external,
      host: prime.host,
      port: prime.port,
      url: prime.url,
      adoptable: prime.port !== 0,
      // llama.cpp answers /health; Ollama has none (404) but answers / with "Ollama is running".
      healthPaths: prime.external ? ['/health', '/'] : ['/health'],
      timeoutMs: timeout('prime'),
    },
    {
      name: 'jarvis',
      title: 'JARVIS',
      serviceId: 'jarvis',
      enabled: true,
      external: false,
      host: config.jarvis.host,
      port: config.jarvis.port,
      url: localUrl(config.jarvis.host, config.jarvis.port),
      adoptable: config.jarvis.port !== 0,
      healthPaths: ['/health'],
      timeoutMs: timeout('jarvis'),
    },
  ];
  // Workers share the reactor's database and folders, so they come right after it; each picks a free port.
  const workerSpecs = Array.from({ length: workers }, (_, i): ServiceSpec => ({
    name: `worker${i + 1}`,
    title: `Worker ${i + 1}`,
    serviceId: 'trinity-worker',
    enabled: config.reactor.enabled,
    external: false,
    host: config.worker.host,
    port: 0,
    url: localUrl(config.worker.host, 0),
    adoptable: false,
    healthPaths: ['/api/health'],
    timeoutMs: timeout('reactor'),
  }));
  services.splice(1, 0, ...workerSpecs);
  return { services, startPeriodMs: Math.round(START_PERIOD_MS * scale), degradedGraceMs: DEGRADED_GRACE_MS };
}

/** The URL a local client uses for a service bound to `host`: a wildcard bind is reached on loopback. */
export function localUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' || host === '[::]' ? '[::1]' : host;
  return `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
}

function positive(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw ConfigInvalid(`${name}: expected a number > 0, got ${JSON.stringify(raw)}`);
  return n;
}
