/** Health, resources and metrics: what supervisors, the coordinator and Prometheus read. */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export interface HealthReport {
  status: 'starting' | 'healthy' | 'degraded' | 'failed';
  [field: string]: unknown;
}

export interface HealthRoutesOptions {
  /** May read a store (the async seam); it should answer within a few seconds even when the database does not. */
  health: () => HealthReport | Promise<HealthReport>;
  resources: () => Record<string, unknown>;
  metrics?: Registry;
}

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, opts) => {
  const health = async (_req: unknown, reply: { code: (n: number) => unknown }) => {
    const report = await opts.health();
    // Supervisors wait for `healthy`, not for an open port: starting answers 503.
    if (report.status === 'starting' || report.status === 'failed') reply.code(503);
    return report;
  };
  app.get('/health', health);
  app.get('/api/health', health);
  app.get('/api/resources', async () => opts.resources());
  if (opts.metrics) {
    const registry = opts.metrics;
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  }
};
