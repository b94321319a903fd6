/**
 * `POST /api/models/{type}/{version}/evaluate` (CONTRACT §3; issue 3, item 4): a registered version's figures
 * on `{experiences: [...]}` or on a drop-box `{file}`, with the items that could not be used listed as
 * `rejected: [{index, error}]` (the reason names the field) while the rest still count.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { EvaluateRequest, EvaluateResponse, EvaluationService } from '../../training/evaluation-service.js';

export interface EvaluateRoutesOptions {
  /** Loads versions (cached) and computes the figures. */
  evaluation: Pick<EvaluationService, 'evaluate'>;
}

/** Same bound as the other model routes: longer params are refused before any lookup. */
const MAX_PARAM_LENGTH = 64;
const param = { type: 'string', minLength: 1, maxLength: MAX_PARAM_LENGTH } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

// The body's fields carry no types on purpose: Fastify's Ajv coerces ('array' mode would wrap a bare
// string into a one-item list, a number would become a path), and the service checks both with messages
// naming the field.
const bodySchema = {
  type: 'object',
  properties: {
    experiences: { description: 'experiences to evaluate on (CONTRACT §2 form)' },
    file: { description: 'a .json, .json.gz or .jsonl file of experiences inside TRAINING_DROPBOX_DIR' },
  },
} as const;

const classSchema = {
  type: 'object',
  properties: { precision: { type: 'number' }, recall: { type: 'number' }, f1: { type: 'number' }, support: { type: 'integer' } },
} as const;

const responseSchema = {
  type: 'object',
  required: ['model_type', 'version', 'n', 'rejected'],
  properties: {
    model_type: { type: 'string' },
    version: { type: 'string' },
    n: { type: 'integer' },
    // classifiers
    accuracy: { type: 'number' },
    per_class: { type: 'object', additionalProperties: classSchema },
    confusion: {
      type: 'object',
      properties: { labels: { type: 'array', items: { type: 'string' } }, matrix: { type: 'array', items: { type: 'array', items: { type: 'integer' } } } },
    },
    // embeddings
    spearman: nullableNumber,
    recall_at_1: nullableNumber,
    scored_n: { type: 'integer' },
    positive_n: { type: 'integer' },
    rejected: {
      type: 'array',
      items: { type: 'object', required: ['index', 'error'], properties: { index: { type: 'integer' }, error: { type: 'string' } } },
    },
  },
} as const;

interface VersionParams {
  type: string;
  version: string;
}

export const evaluateRoutes: FastifyPluginAsync<EvaluateRoutesOptions> = async (app, { evaluation }) => {
  app.post<{ Params: VersionParams; Body: EvaluateRequest }>(
    '/api/models/:type/:version/evaluate',
    {
      schema: {
        params: { type: 'object', required: ['type', 'version'], properties: { type: param, version: param } },
        body: bodySchema,
        response: { 200: responseSchema },
      },
    },
    async (req): Promise<EvaluateResponse> => evaluation.evaluate(req.params.type, req.params.version, req.body),
  );
};
