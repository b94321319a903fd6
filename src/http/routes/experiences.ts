/** Experiences API (CONTRACT §3): post experiences into the buffer, read its per-type figures. */
import type { FastifyPluginAsync } from 'fastify';
import { ExperienceInvalid } from '../../errors.js';
import { ingestBody } from '../../experiences/index.js';
import type { ExperienceSink, ExperienceStore } from '../../experiences/experiences-store.js';
import { useStreamingJson } from '../streaming-json.js';

export interface ExperienceRoutesOptions {
  /** The buffer; its `minQuality` (MIN_EXPERIENCE_QUALITY) decides what counts as usable. */
  store: ExperienceStore;
  /** Where posted batches are inserted: its writer thread; the store itself when absent. */
  sink?: ExperienceSink;
}

// No body schema: Fastify's Ajv coerces types ('array' mode wraps a bare string into a list), and the
// shapes are checked by containerFromJson anyway, with messages naming the field.
const postSchema = {
  response: {
    200: {
      type: 'object',
      required: ['accepted', 'duplicates', 'rejected'],
      properties: {
        accepted: { type: 'integer' },
        duplicates: { type: 'integer' },
        unusable: { type: 'integer' },
        rejected: {
          type: 'array',
          items: { type: 'object', properties: { index: { type: 'integer' }, error: { type: 'string' } }, required: ['index', 'error'] },
        },
      },
    },
  },
} as const;

export const experienceRoutes: FastifyPluginAsync<ExperienceRoutesOptions> = async (app, { store, sink = store }) => {
  // Batches may be tens of megabytes: parsed as they arrive and stored in slices (ingestBody), so health
  // and other requests keep being answered meanwhile.
  useStreamingJson(app);
  app.post('/api/experiences', { schema: postSchema }, async (req) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null) {
      throw ExperienceInvalid.with(
        { details: `expected {experiences: [...]}, an array of experiences or one experience object; got ${body === null ? 'null' : typeof body}` },
        'invalid experiences body: must be a JSON object or array',
      );
    }
    return ingestBody(body, sink);
  });

  app.get('/api/experiences/stats', async () => {
    const { types, totals } = await store.stats();
    // Per model type at the top level (what JARVIS reads: stats[type].new_since_last_training), plus totals.
    return { ...types, totals };
  });
};
