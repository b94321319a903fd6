/**
 * `POST /api/experiences` on JARVIS: the same body shapes reactor accepts (a batch, the forwarder envelope,
 * an array or one experience), read with reactor's own container parser and normaliser so both services
 * agree on an experience's model type. Each one is kept as received; its model type names the file it goes to.
 */
import { ExperienceInvalid } from '../errors.js';
import { containerFromJson, isShapeError, normalizeExperience, type ItemError } from '../experiences/index.js';
import type { OutboxItem } from './outbox-store.js';
import { Pacer } from '../util/pacer.js';

export interface CollectedBody {
  items: OutboxItem[];
  rejected: ItemError[];
}

/** Large bodies yield to the event loop this often, so JARVIS keeps answering meanwhile. */
const COLLECT_YIELD_MS = 20;

/** Throws ExperienceInvalid (400) when the body is none of the accepted shapes. */
export async function collectExperiences(body: unknown): Promise<CollectedBody> {
  const container = containerFromJson(body);
  if (isShapeError(container)) {
    if (container.error === 'no experiences') return { items: [], rejected: [] };
    throw ExperienceInvalid.with({ details: container.details }, `invalid experiences body: ${container.error}`);
  }
  const out: CollectedBody = { items: [], rejected: [] };
  const pacer = new Pacer(COLLECT_YIELD_MS);
  for (let i = 0; i < container.items.length; i++) {
    await pacer.tick();
    const item = container.items[i];
    const index = container.positions[i];
    const res = normalizeExperience(item, { defaultModelType: container.defaultModelType });
    if (!res.ok) {
      out.rejected.push({ index, error: res.error });
      continue;
    }
    const modelType = res.experience.modelType;
    // Files are per model type; an experience with none would reach reactor only to be counted unusable,
    // so the caller hears about it now, with reactor's own reason.
    if (modelType === null) {
      out.rejected.push({ index, error: res.experience.reason ?? 'no model type' });
      continue;
    }
    // Stored as received: the file's batch model_type is this resolved type, which reactor applies to items
    // without their own, so the experience's content (and with it its identity) is unchanged.
    out.items.push({ modelType, body: JSON.stringify(item) });
  }
  return out;
}
