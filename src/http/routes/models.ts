/**
 * Model registry API (CONTRACT §3): versions with metrics, job, digest and created_at, and which version is
 * stable and which is canary. Params are checked twice on purpose: the schema bounds their size, and the
 * registry refuses anything that is not a known model type or a strict `vX.Y.Z` before building a path.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ModelType } from '../../model-types.js';
import type { ManifestFile, ModelManifest, ModelRegistry, ModelTypeSummary, ModelVersionInfo } from '../../registry/index.js';

export interface ModelsRoutesOptions {
  /** The registry the routes read; they never write to it. */
  registry: ModelRegistry;
  /**
   * The active deployment of a type (src/rollout). When given, every type carries `deployment_id`
   * (null without one): prime's reconcile reads it (docs/prime-protocol.md). Default: field absent.
   */
  deploymentIdOf?: (type: ModelType) => Promise<string | null>;
}

export interface ModelVersionWire {
  version: string;
  created_at: string;
  job_id: string;
  metrics: ModelVersionInfo['metrics'];
  experience_counts: ModelVersionInfo['experienceCounts'];
  digest: string;
  status: ModelVersionInfo['status'];
}

export interface ModelTypeWire {
  stable: string | null;
  canary: string | null;
  canary_percentage: number;
  versions: ModelVersionWire[];
  /** The active deployment, when the routes know about deployments. */
  deployment_id?: string | null;
}

export interface ModelVersionDetailsWire extends ModelVersionWire {
  model_type: string;
  files: ManifestFile[];
  manifest: ModelManifest;
}

export function toVersionWire(v: ModelVersionInfo): ModelVersionWire {
  return {
    version: v.version,
    created_at: v.createdAt,
    job_id: v.jobId,
    metrics: v.metrics,
    experience_counts: v.experienceCounts,
    digest: v.digest,
    status: v.status,
  };
}

export function toTypeWire(s: ModelTypeSummary): ModelTypeWire {
  return { stable: s.stable, canary: s.canary, canary_percentage: s.canaryPercentage, versions: s.versions.map(toVersionWire) };
}

// ── schemas ───────────────────────────────────────────────────────────────
/** Long enough for any model type or version we make; longer params are refused before any lookup. */
const MAX_PARAM_LENGTH = 64;
const param = { type: 'string', minLength: 1, maxLength: MAX_PARAM_LENGTH } as const;
const nullableString = { type: ['string', 'null'] } as const;

const versionSchema = {
  type: 'object',
  required: ['version', 'created_at', 'job_id', 'metrics', 'experience_counts', 'digest', 'status'],
  properties: {
    version: { type: 'string' },
    created_at: { type: 'string' },
    job_id: { type: 'string' },
    metrics: { type: 'object', additionalProperties: { type: ['number', 'null'] } },
    experience_counts: { type: 'object', additionalProperties: { type: 'integer' } },
    digest: { type: 'string' },
    status: { type: 'string', enum: ['stable', 'canary', 'available'] },
  },
} as const;

const typeProperties = {
  stable: nullableString,
  canary: nullableString,
  canary_percentage: { type: 'number' },
  versions: { type: 'array', items: versionSchema },
} as const;

/** Optional, so answers without deployments keep their old shape. */
const deploymentProperty = { deployment_id: nullableString } as const;

const typeSchema = { type: 'object', required: Object.keys(typeProperties), properties: { ...typeProperties, ...deploymentProperty } } as const;

const fileSchema = {
  type: 'object',
  properties: { path: { type: 'string' }, bytes: { type: 'integer' }, sha256: { type: 'string' } },
} as const;

const detailsSchema = {
  type: 'object',
  properties: {
    model_type: { type: 'string' },
    ...versionSchema.properties,
    files: { type: 'array', items: fileSchema },
    manifest: { type: 'object', additionalProperties: true },
  },
} as const;

interface TypeParams {
  type: string;
}
interface VersionParams extends TypeParams {
  version: string;
}

export const modelsRoutes: FastifyPluginAsync<ModelsRoutesOptions> = async (app, { registry, deploymentIdOf }) => {
  const wire = async (s: ModelTypeSummary): Promise<ModelTypeWire> =>
    deploymentIdOf === undefined ? toTypeWire(s) : { ...toTypeWire(s), deployment_id: await deploymentIdOf(s.modelType) };

  app.get(
    '/api/models',
    { schema: { response: { 200: { type: 'object', properties: { models: { type: 'object', additionalProperties: typeSchema } } } } } },
    async () => ({ models: Object.fromEntries(await Promise.all((await registry.list()).map(async (s) => [s.modelType, await wire(s)]))) }),
  );

  app.get<{ Params: TypeParams }>(
    '/api/models/:type',
    {
      schema: {
        params: { type: 'object', required: ['type'], properties: { type: param } },
        response: { 200: { type: 'object', properties: { model_type: { type: 'string' }, ...typeProperties, ...deploymentProperty } } },
      },
    },
    async (req) => {
      const summary = await registry.summary(req.params.type);
      return { model_type: summary.modelType, ...(await wire(summary)) };
    },
  );

  app.get<{ Params: VersionParams }>(
    '/api/models/:type/:version',
    {
      schema: {
        params: { type: 'object', required: ['type', 'version'], properties: { type: param, version: param } },
        response: { 200: detailsSchema },
      },
    },
    async (req): Promise<ModelVersionDetailsWire> => {
      const v = await registry.get(req.params.type, req.params.version);
      return { model_type: v.modelType, ...toVersionWire(v), files: v.files, manifest: v.manifest };
    },
  );
};
