/** What the evaluators share: how an item that cannot be used is reported, and how long work yields. */
import { TrinityError } from '../errors.js';
import type { Pacer } from '../util/pacer.js';

export type { Pacer };

/** An item of the evaluation set that was left out, and why (the reason names the field). */
export interface ItemRejection {
  /** Position in the list the caller handed over. */
  index: number;
  error: string;
}

/**
 * The reason an item's prediction failed. A 4xx TrinityError is the predictor refusing bad input, and its
 * message already names the field; anything else is a fault in the predictor, reported as such so it is
 * not mistaken for bad data, yet still only costs that one item.
 */
export function rejectionReason(err: unknown): string {
  if (err instanceof TrinityError && err.statusCode < 500) return err.message;
  return `prediction failed: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Evaluation runs in the reactor's own process (the predictors are loaded there), so a long run hands the
 * event loop back this often: health checks and other requests keep answering while a voice set is
 * featurised clip by clip.
 */
export const EVALUATION_YIELD_MS = 20;
