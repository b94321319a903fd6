/**
 * Experiences sent with a training request (or read from the drop-box) become trainer examples by the
 * same normalise/extract path as the buffer, without touching the database.
 */
import type { ModelType } from '../model-types.js';
import type { Example } from '../training/trainers/types.js';
import { isUsable, normalizeExperience } from './normalize.js';
import type { ItemError, Split, SplitExample } from './types.js';

export interface InlineExamples {
  /** Trainable examples in input order, each with its split; one per id. */
  examples: SplitExample[];
  /** Items that are not experience objects (or carry a bad id). */
  rejected: ItemError[];
  /** Kept but not trainable: no label, negative feedback, low quality, another model type, fits no trainer. */
  unusable: number;
  /** Items whose id (or content) repeats an earlier one. */
  duplicates: number;
}

/**
 * `modelType` is the job's: it applies to items without `model_type` (as a batch's does), and an item
 * that names another model type is counted unusable.
 */
export function examplesFromExperiences(raw: readonly unknown[], modelType: ModelType, minQuality: number): InlineExamples {
  const out: InlineExamples = { examples: [], rejected: [], unusable: 0, duplicates: 0 };
  const seen = new Set<string>();
  raw.forEach((item, index) => {
    const res = normalizeExperience(item, { defaultModelType: modelType });
    if (!res.ok) {
      out.rejected.push({ index, error: res.error });
      return;
    }
    const e = res.experience;
    if (seen.has(e.id)) {
      out.duplicates++;
      return;
    }
    seen.add(e.id);
    if (e.modelType !== modelType || !isUsable(e, minQuality) || e.example === null) {
      out.unusable++;
      return;
    }
    out.examples.push({ ...e.example, split: e.split });
  });
  return out;
}

/** Splits examples by their `split`, dropping the field. */
export function splitExamples(examples: readonly SplitExample[]): Record<Split, Example[]> {
  const out: Record<Split, Example[]> = { train: [], validation: [] };
  for (const { split, ...example } of examples) out[split].push(example);
  return out;
}

/** "3 of 10 experiences rejected: [0] an experience must be…; [4] …" */
export function summarizeItemErrors(errors: readonly ItemError[], total: number, shown = 3): string {
  const head = errors.slice(0, shown).map((e) => `[${e.index}] ${e.error}`).join('; ');
  const more = errors.length > shown ? `; and ${errors.length - shown} more` : '';
  return `${errors.length} of ${total} rejected: ${head}${more}`;
}
