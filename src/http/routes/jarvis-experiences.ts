/**
 * JARVIS experience collection (CONTRACT §5): experiences are stored durably in the outbox before the
 * answer, then forwarded to reactor as files. `accepted` means kept, not yet forwarded: `pending` says
 * how many wait for their file.
 */
import type { FastifyPluginAsync } from 'fastify';
import { ExperienceInvalid } from '../../errors.js';
import { collectExperiences, type ExperienceForwarder } from '../../coordinator/index.js';

export interface JarvisExperienceRoutesOptions {
  forwarder: ExperienceForwarder;
}

export const jarvisExperienceRoutes: FastifyPluginAsync<JarvisExperienceRoutesOptions> = async (app, { forwarder }) => {
  app.post('/api/experiences', async (req) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null) {
      throw ExperienceInvalid.with(
        { details: `expected {experiences: [...]}, an array of experiences or one experience object; got ${body === null ? 'null' : typeof body}` },
        'invalid experiences body: must be a JSON object or array',
      );
    }
    const { items, rejected } = collectExperiences(body);
    const accepted = forwarder.add(items);
    return { accepted, rejected, pending: forwarder.status().pending };
  });
};
