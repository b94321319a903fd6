/**
 * Experiences sent with a training request (or read from the drop-box) become trainer examples by the
 * same normalise/extract path as the buffer, without touching the database.
 */
import type { ModelType } from '../model-types.js';
import type { Example } from '../models/types.js';
import { isUsable, normalizeExperience, unusableReason } from './normalize.js';
import type { ItemError, NormalizedExperience, Split, SplitExample } from './types.js';

export interface InlineExamples {
  /** Trainable examples in input order, each with its split; one per id. */
  examples: SplitExample[];
  /** Items that are not experience objects (or carry a bad id). */
  rejected: ItemError[];
  /** Kept but not trainable: no label, negative feedback, low quality, another model type, fits no trainer. */
  unusable: number;
  /** Items whose id (or content) repeats an earlier one. */
  duplicates: number;
  /** Position in `raw` of each example (same order as `examples`), so later per-item errors can name the item. */
  positions: number[];
  /**
   * Why each kept-but-unused item (unusable, another model type, duplicate) was not taken, in input order.
   * Training only counts them; evaluation reports them, since there the caller asked about those very items.
   */
  skipped: ItemError[];
}

/**
 * `modelType` is the job's: it applies to items without `model_type` (as a batch's does), and an item
 * that names another model type is counted unusable.
 */
export function examplesFromExperiences(raw: readonly unknown[], modelType: ModelType, minQuality: number): InlineExamples {
  const out: InlineExamples = { examples: [], rejected: [], unusable: 0, duplicates: 0, positions: [], skipped: [] };
  const seen = new Map<string, number>();
  raw.forEach((item, index) => {
    const res = normalizeExperience(item, { defaultModelType: modelType });
    if (!res.ok) {
      out.rejected.push({ index, error: res.error });
      return;
    }
    const e = res.experience;
    const first = seen.get(e.id);
    if (first !== undefined) {
      out.duplicates++;
      out.skipped.push({ index, error: `duplicate of item ${first} (same id or content)` });
      return;
    }
    seen.set(e.id, index);
    if (e.modelType !== modelType || !isUsable(e, minQuality) || e.example === null) {
      out.unusable++;
      out.skipped.push({ index, error: skipReason(e, modelType, minQuality) });
      return;
    }
    out.examples.push({ ...e.example, split: e.split });
    out.positions.push(index);
  });
  return out;
}

function skipReason(e: NormalizedExperience, modelType: ModelType, minQuality: number): string {
  if (e.modelType !== null && e.modelType !== modelType) return `model_type ${e.modelType} is not ${modelType}`;
  return unusableReason(e, minQuality) ?? 'not usable';
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
