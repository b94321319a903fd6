/**
 * J-Prime's prediction API (CONTRACT §4): `POST /api/predict/{model_type}` and `POST /api/feedback`.
 * This is the hot path: no per-request logging, a body schema compiled once, and the answer written by
 * answerJson (answer-json.ts), faster here than a compiled response schema or JSON.stringify.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { HttpBadRequest, TrinityError } from '../../errors.js';
import { MODEL_TYPES } from '../../model-types.js';
import type { InflightCounter, ModelServer } from '../../serving/index.js';
import { answerJson } from '../answer-json.js';

export interface PrimePredictRoutesOptions {
  server: ModelServer;
  /** Counts these routes' requests in flight (active_requests). */
  inflight: InflightCounter;
}

/** Longer session ids are not ids a client would make; the cap bounds the hashing work per request. */
const MAX_SESSION_ID_LENGTH = 256;
/** Prediction ids are UUIDs; the cap only refuses junk before a lookup. */
const MAX_PREDICTION_ID_LENGTH = 128;

interface PredictBody {
  input: Record<string, unknown>;
  session_id?: string | null;
}
interface FeedbackBody {
  prediction_id: string;
  success: boolean;
}

/**
 * Per-field bounds of an input (docs/prime.md), checked before the predictor sees it, so one request
 * cannot hold the event loop for long: a prediction's cost grows with the text, the audio and the image.
 * The whole body is bounded as well (PRIME_MAX_BODY_BYTES).
 */
export const INPUT_LIMITS = {
  /** Characters of `input.text` (nlu, embedding): a command or a paragraph, not a document. */
  textChars: 10_000,
  /** Base64 characters of `input.audio` or `input.image`: about 512 KiB decoded (~30 s of 8 kHz speech). */
  base64Chars: 700_000,
  /** Numbers in `input.audio_embedding` (speaker embeddings are 192–512 long). */
  embeddingItems: 4_096,
  /** Numbers in `input.pixels`: 256×256 RGB. */
  pixelItems: 256 * 256 * 3,
} as const;

const STRING_BOUNDS: [field: string, max: number][] = [
  ['text', INPUT_LIMITS.textChars],
  ['audio', INPUT_LIMITS.base64Chars],
  ['image', INPUT_LIMITS.base64Chars],
];
const ARRAY_BOUNDS: [field: string, max: number][] = [
  ['audio_embedding', INPUT_LIMITS.embeddingItems],
  ['pixels', INPUT_LIMITS.pixelItems],
];

/**
 * Throws a 400 naming the first field over its bound. Checked here rather than in the body schema:
 * Fastify's Ajv would want a `type` beside maxLength and then coerce a wrong type instead of letting the
 * predictor say what the model expects.
 */
function checkInputBounds(input: Record<string, unknown>): void {
  for (const [field, max] of STRING_BOUNDS) {
    const v = input[field];
    if (typeof v === 'string' && v.length > max) throw HttpBadRequest(`input.${field} has ${v.length} characters; at most ${max} are accepted`);
  }
  for (const [field, max] of ARRAY_BOUNDS) {
    const v = input[field];
    if (Array.isArray(v) && v.length > max) throw HttpBadRequest(`input.${field} has ${v.length} numbers; at most ${max} are accepted`);
  }
}

const predictBodySchema = {
  type: 'object',
  required: ['input'],
  properties: {
    input: { type: 'object' },
    session_id: { type: ['string', 'null'], maxLength: MAX_SESSION_ID_LENGTH },
  },
} as const;

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export const primePredictRoutes: FastifyPluginAsync<PrimePredictRoutesOptions> = async (app, { server, inflight }) => {
  app.addHook('onRequest', (_req, reply, done) => {
    inflight.enter(reply.raw);
    done();
  });

  const predict = (modelType: string, req: FastifyRequest<{ Body: PredictBody }>, reply: FastifyReply) => {
    const { input, session_id: sessionId } = req.body;
    checkInputBounds(input);
    try {
      const out = server.predict(modelType, input, sessionId ?? undefined);
      reply.header('x-model-version', out.modelVersion).type(JSON_CONTENT_TYPE);
      return answerJson(modelType, out.predictionId, out.modelVersion, out.prediction);
    } catch (err) {
      if (err instanceof TrinityError) {
        // A failed prediction still says which version failed, so a client can report it.
        if (typeof err.extra.model_version === 'string') reply.header('x-model-version', err.extra.model_version);
      }
      throw err;
    }
  };

  // One static route per built-in type (static routes win over the parametric one): no path parameter to
  // parse and validate. The handlers are synchronous: Fastify sends what they return (and the error they
  // throw) without a promise and a microtask per request.
  for (const type of MODEL_TYPES) {
    app.post<{ Body: PredictBody }>(`/api/predict/${type}`, { schema: { body: predictBodySchema } }, (req, reply) => predict(type, req, reply));
  }
  app.post<{ Body: PredictBody; Params: { model_type: string } }>(
    '/api/predict/:model_type',
    {
      schema: {
        params: { type: 'object', required: ['model_type'], properties: { model_type: { type: 'string', maxLength: 64 } } },
        body: predictBodySchema,
      },
    },
    (req, reply) => predict(req.params.model_type, req, reply),
  );

  app.post<{ Body: FeedbackBody }>(
    '/api/feedback',
    {
      schema: {
        body: {
          type: 'object',
          required: ['prediction_id', 'success'],
          properties: { prediction_id: { type: 'string', minLength: 1, maxLength: MAX_PREDICTION_ID_LENGTH }, success: { type: 'boolean' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              prediction_id: { type: 'string' },
              model_type: { type: 'string' },
              model_version: { type: 'string' },
              success: { type: 'boolean' },
              duplicate: { type: 'boolean' },
            },
          },
        },
      },
    },
    (req) => {
      const f = server.feedback(req.body.prediction_id, req.body.success);
      return { prediction_id: f.predictionId, model_type: f.modelType, model_version: f.modelVersion, success: f.success, duplicate: f.duplicate };
    },
  );
};
