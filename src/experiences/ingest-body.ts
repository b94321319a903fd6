/**
 * Experiences posted over HTTP: the same shapes as files (batch, envelope, array, one experience),
 * the same normalisation, straight into the buffer. Bad items are reported, good ones still go in.
 */
import { ExperienceInvalid } from '../errors.js';
import type { ExperienceSink } from './experiences-store.js';
import { Pacer } from '../util/pacer.js';
import { containerFromJson, isShapeError } from './containers.js';
import { DEFAULT_BATCH_SIZE } from './intake-options.js';
import { isUsable, normalizeExperience } from './normalize.js';
import type { ItemError, NormalizedExperience } from './types.js';

export interface IngestBodyResult {
  /** New rows, trainable or not. */
  accepted: number;
  /** Items already in the buffer (same id or content). */
  duplicates: number;
  /** Items refused: not an experience object, or a bad id. */
  rejected: ItemError[];
  /** Among the accepted and duplicates: kept but not trainable (no label, negative feedback, low quality, fits no trainer). */
  unusable: number;
}

/** Batches of many thousand items yield to the event loop this often, so the service keeps answering. */
export const INGEST_YIELD_MS = 20;

/** Throws ExperienceInvalid (400) when the body is none of the accepted shapes. */
export async function ingestBody(body: unknown, store: ExperienceSink, source = 'http'): Promise<IngestBodyResult> {
  const container = containerFromJson(body);
  if (isShapeError(container)) {
    if (container.error === 'no experiences') return { accepted: 0, duplicates: 0, rejected: [], unusable: 0 };
    throw ExperienceInvalid.with({ details: container.details }, `invalid experiences body: ${container.error}`);
  }
  const out: IngestBodyResult = { accepted: 0, duplicates: 0, rejected: [], unusable: 0 };
  let batch: NormalizedExperience[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const c = await store.insertBatch(batch, { source });
    out.accepted += c.accepted;
    out.duplicates += c.duplicates;
    batch = [];
  };
  const pacer = new Pacer(INGEST_YIELD_MS);
  for (let i = 0; i < container.items.length; i++) {
    await pacer.tick();
    const res = normalizeExperience(container.items[i], { defaultModelType: container.defaultModelType });
    if (!res.ok) {
      out.rejected.push({ index: container.positions[i], error: res.error });
      continue;
    }
    if (!isUsable(res.experience, store.minQuality)) out.unusable++;
    batch.push(res.experience);
    if (batch.length >= DEFAULT_BATCH_SIZE) await flush();
  }
  await flush();
  return out;
}
