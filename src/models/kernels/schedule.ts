/** Pieces every trainer shares: the learning-rate schedule and the fingerprint that ties a checkpoint to its data. */
import { createHash } from 'node:crypto';

/**
 * The learning-rate factor of 1-based `step` out of `totalSteps`: linear decay to `floor`, as fastText
 * does, so the last epochs refine rather than jump and the last epoch is the best one.
 */
export function linearDecay(step: number, totalSteps: number, floor: number): number {
  return Math.max(floor, 1 - (step - 1) / totalSteps);
}

/**
 * SHA-256 (first 32 hex digits) of a settings object and the raw bytes of the training arrays: a
 * checkpoint written for other data or settings is refused instead of silently resumed.
 */
export function fingerprintOf(spec: unknown, arrays: readonly ArrayBufferView[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(spec));
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 32);
}
