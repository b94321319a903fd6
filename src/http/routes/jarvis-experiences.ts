/**
 * JARVIS experience collection (CONTRACT §5): experiences are stored durably in the outbox before the
 * answer, then forwarded to reactor as files. `accepted` means kept, not yet forwarded: `pending` says
 * how many wait for their file.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyPluginAsync } from 'fastify';
import { ExperienceInvalid } from '../../errors.js';
import { collectExperiences, type ExperienceForwarder } from '../../coordinator/index.js';
import { useStreamingJson } from '../streaming-json.js';

export interface JarvisExperienceRoutesOptions {
  forwarder: ExperienceForwarder;
}

/** Experiences per outbox transaction. */
const OUTBOX_SLICE = 2_000;

export const jarvisExperienceRoutes: FastifyPluginAsync<JarvisExperienceRoutesOptions> = async (app, { forwarder }) => {
  // Large batches are parsed as they arrive and collected in slices, so JARVIS keeps answering meanwhile.
  useStreamingJson(app);
  app.post('/api/experiences', async (req) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null) {
      throw ExperienceInvalid.with(
        { details: `expected {experiences: [...]}, an array of experiences or one experience object; got ${body === null ? 'null' : typeof body}` },
        'invalid experiences body: must be a JSON object or array',
      );
    }
    const { items, rejected } = await collectExperiences(body);
    // Stored in slices with a turn of the event loop between them: one outbox transaction of 200,000
    // rows held JARVIS for most of a second.
    let accepted = 0;
    for (let start = 0; start < items.length; start += OUTBOX_SLICE) {
      if (start > 0) await nextTurn();
      accepted += await forwarder.add(items.slice(start, start + OUTBOX_SLICE));
    }
    return { accepted, rejected, pending: forwarder.status().pending };
  });
};
