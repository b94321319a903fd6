/**
 * J-Prime's model control API (CONTRACT §4, docs/prime-protocol.md): the split reactor pushes, the
 * operator's forced reload, the per-version counters reactor pulls, and what is served now.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ServingInvalidSplit } from '../../errors.js';
import { isModelType } from '../../model-types.js';
import type { ModelServer, SplitView } from '../../serving/index.js';

export interface PrimeModelsRoutesOptions {
  server: ModelServer;
}

export interface SplitWire {
  model_type: string;
  stable: string | null;
  canary: string | null;
  canary_percentage: number;
  deployment_id: string | null;
  applied_at: string | null;
}

export function toSplitWire(v: SplitView): SplitWire {
  return {
    model_type: v.modelType,
    stable: v.stable,
    canary: v.canary,
    canary_percentage: v.canaryPercentage,
    deployment_id: v.deploymentId,
    applied_at: v.appliedAt,
  };
}

/** Versions and ids are short; the caps refuse junk before any work. */
const MAX_NAME_LENGTH = 64;
const MAX_DEPLOYMENT_ID_LENGTH = 256;
const name = { type: 'string', minLength: 1, maxLength: MAX_NAME_LENGTH } as const;
const nullableName = { type: ['string', 'null'], maxLength: MAX_NAME_LENGTH } as const;

const splitWireSchema = {
  type: 'object',
  properties: {
    model_type: { type: 'string' },
    stable: { type: ['string', 'null'] },
    canary: { type: ['string', 'null'] },
    canary_percentage: { type: 'number' },
    deployment_id: { type: ['string', 'null'] },
    applied_at: { type: ['string', 'null'] },
  },
} as const;

interface SplitBody {
  model_type: string;
  stable: string | null;
  canary?: string | null;
  canary_percentage?: number;
  deployment_id?: string | null;
}
interface ReloadBody {
  model_type: string;
  model_version: string;
}

export const primeModelsRoutes: FastifyPluginAsync<PrimeModelsRoutesOptions> = async (app, { server }) => {
  app.post<{ Body: SplitBody }>(
    '/api/v1/models/split',
    {
      schema: {
        body: {
          type: 'object',
          required: ['model_type', 'stable'],
          properties: {
            model_type: name,
            stable: nullableName,
            canary: nullableName,
            canary_percentage: { type: 'number', minimum: 0, maximum: 100 },
            deployment_id: { type: ['string', 'null'], maxLength: MAX_DEPLOYMENT_ID_LENGTH },
          },
        },
        response: { 200: splitWireSchema },
      },
    },
    async (req) => {
      const b = req.body;
      const view = await server.applySplit(
        {
          modelType: b.model_type as SplitView['modelType'],
          stable: b.stable,
          canary: b.canary ?? null,
          canaryPercentage: b.canary_percentage ?? 0,
          deploymentId: b.deployment_id,
        },
        'strict',
      );
      return toSplitWire(view);
    },
  );

  app.post<{ Body: ReloadBody }>(
    '/api/v1/models/reload',
    {
      schema: {
        body: { type: 'object', required: ['model_type', 'model_version'], properties: { model_type: name, model_version: name } },
        response: { 200: splitWireSchema },
      },
    },
    async (req) => {
      const { model_type: type, model_version: version } = req.body;
      if (!isModelType(type)) throw ServingInvalidSplit(`model_type must be a model type, got ${JSON.stringify(type)}`);
      return toSplitWire(await server.reload(type, version));
    },
  );

  app.get('/api/v1/models/stats', async () => server.stats());

  app.get('/api/v1/models', async () => ({
    models: Object.fromEntries(server.splits().map((v) => [v.modelType, toSplitWire(v)])),
    load_failures: server.recentFailures().map((f) => ({ model_type: f.modelType, version: f.version, error: f.error, at: f.at })),
    pinned_by_reload: server.pinned().map((p) => ({ model_type: p.modelType, version: p.version, at: p.at })),
  }));
};
