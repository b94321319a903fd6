/**
 * How much memory one job reserves (CONTRACT §6): TRAINING_MEMORY_RESERVE_GB when it is set, else the
 * trainer's own estimate of the job's peak, which reactor answers at POST /api/training/estimate for the
 * very body the job will start with; a job without an estimate reserves the design's 40 GB. The gate then
 * holds the job until that much is free, and its waiting reason names the figure and where it came from.
 */
import { ReactorHttpError, type TrainingEstimate, type TrainingStartRequest } from '../client/index.js';
import { describeError, isOutage, type ReactorLink } from './reactor-link.js';

/** The design's reserve (sized for fine-tuning a large model): for a job whose trainer gives no estimate. */
export const DESIGN_RESERVE_GB = 40;

const GB = 1024 ** 3;

export interface MemoryNeed {
  gb: number;
  /** Where the figure came from, as the waiting reason shows it: "nlu estimate", "TRAINING_MEMORY_RESERVE_GB", … */
  source: string;
  /** What an estimate counts (reactor's basis), when there is one. */
  basis?: string;
}

/**
 * The need from the setting and what reactor answered (`estimate` undefined when it could not answer,
 * `why` saying why). Pure, so the rule of the three cases reads in one place.
 */
export function memoryNeed(modelType: string, reserveGb: number | null, estimate: TrainingEstimate | undefined, why = 'no answer'): MemoryNeed {
  if (reserveGb !== null) return { gb: reserveGb, source: 'TRAINING_MEMORY_RESERVE_GB' };
  if (estimate && estimate.memory_bytes !== null) return { gb: estimate.memory_bytes / GB, source: `${modelType} estimate`, basis: estimate.basis };
  const reason = estimate ? estimate.basis : why;
  return { gb: DESIGN_RESERVE_GB, source: `no ${modelType} estimate (${reason}): the design's default` };
}

/**
 * The need of the job that `body` starts, asking reactor for its estimate unless TRAINING_MEMORY_RESERVE_GB
 * (`reserveGb`) is set. A reactor that is down, or too old to have the endpoint (404), gives no estimate:
 * the job reserves 40 GB, and the gate sees reactor down anyway. Any other refusal (400: no data, a bad
 * option) is the one the start would get, so it is thrown for the run to fail the job with.
 */
export async function jobMemoryNeed(link: ReactorLink, body: TrainingStartRequest, reserveGb: number | null, signal?: AbortSignal): Promise<MemoryNeed> {
  if (reserveGb !== null) return memoryNeed(body.model_type, reserveGb, undefined);
  try {
    return memoryNeed(body.model_type, null, await link.estimateTraining(body, signal));
  } catch (err) {
    if (signal?.aborted) throw err;
    if (err instanceof ReactorHttpError && err.status === 404) return memoryNeed(body.model_type, null, undefined, `Reactor-Core at ${link.baseUrl} has no /api/training/estimate`);
    if (isOutage(err)) return memoryNeed(body.model_type, null, undefined, `Reactor-Core not reachable: ${describeError(err)}`);
    throw err;
  }
}
