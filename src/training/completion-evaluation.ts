/**
 * What a finishing training job adds to its version's manifest (issue 3, item 4): the new export and the
 * current stable version evaluated on the job's own validation split, the trainer's calibration and the
 * probe input prime warms a version with. Nothing here may fail the job: every problem becomes an
 * `error` field in the record, so the version still registers and the manifest says what went wrong.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelType } from '../model-types.js';
import { readDatasetSplit } from './dataset-file.js';
import type { EvaluationFigures, EvaluationResult } from './evaluate.js';
import type { Example } from '../models/types.js';

/**
 * Validation examples evaluated at most, first in file order, the same ones for both versions. Completion
 * waits for this work and a voice clip costs milliseconds to featurise, so the cap bounds the wait at
 * seconds; 2 000 examples still pin an accuracy near 0.95 to about ±1 %.
 */
export const MAX_COMPLETION_EVALUATION_EXAMPLES = 2_000;

/** Trainer files copied into the manifest when the export has them. */
export { EXPORT_CALIBRATION_FILE as CALIBRATION_FILE, EXPORT_PROBE_FILE as PROBE_FILE } from '../models/types.js';

/** The figures of one version in the manifest: the rejected items as a count, with the first reason. */
export type RecordedFigures = EvaluationFigures & { rejected: number; first_rejection?: string };
export type VersionRecord = RecordedFigures | { error: string };

/** `evaluation` in the manifest. */
export interface CompletionEvaluation {
  /** Validation examples both versions were evaluated on (after the cap). */
  validation_n: number;
  /** All validation examples of the job, when the cap cut some. */
  validation_total?: number;
  candidate: VersionRecord | null;
  /** The stable version at completion time, or null when the type had none. */
  stable: ({ version: string } & VersionRecord) | null;
  /** Wall time of both evaluations. */
  seconds: number;
  /** Why nothing was evaluated (no validation split, unreadable dataset). */
  error?: string;
}

/** Runs one version's evaluation; the caller supplies how (export folder or cached stable). */
export type EvaluateOn = (examples: readonly Example[]) => Promise<EvaluationResult>;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** One version's figures for the manifest, or the error that stopped them. Never throws. */
export async function recordFigures(evaluate: EvaluateOn, examples: readonly Example[]): Promise<VersionRecord> {
  try {
    const { rejected, ...figures } = await evaluate(examples);
    if (figures.n === 0) {
      // Every example refused: the version expects other inputs (an embedding length, audio vs vectors…).
      return { error: `input contract differs: all ${examples.length} validation examples were refused (first: ${rejected[0]?.error ?? 'none'})` };
    }
    const record: RecordedFigures = { ...figures, rejected: rejected.length };
    if (rejected.length > 0) record.first_rejection = rejected[0].error;
    return record;
  } catch (err) {
    return { error: messageOf(err) };
  }
}

export interface CompletionInput {
  modelType: ModelType;
  jobId: string;
  /** The trainer's export folder (not yet registered). */
  exportDir: string;
  /** The job's frozen dataset (dataset-file.ts). */
  datasetPath: string;
}

export interface CompletionPorts {
  candidate: EvaluateOn;
  /** The current stable version and how to evaluate it, or null when the type has none. */
  stable: { version: string; evaluate: EvaluateOn } | null;
}

export async function evaluateCompletion(input: CompletionInput, ports: CompletionPorts, limit = MAX_COMPLETION_EVALUATION_EXAMPLES): Promise<CompletionEvaluation> {
  const started = performance.now();
  const seconds = () => Math.round(performance.now() - started) / 1000;
  let examples: Example[];
  let total: number;
  try {
    // One example more than the cap tells whether it cut anything without reading the whole split twice.
    examples = await readDatasetSplit(input.datasetPath, 'validation', { limit: limit + 1 });
    total = examples.length;
    examples = examples.slice(0, limit);
  } catch (err) {
    return { validation_n: 0, candidate: null, stable: null, seconds: seconds(), error: `could not read the validation split: ${messageOf(err)}` };
  }
  if (examples.length === 0) return { validation_n: 0, candidate: null, stable: null, seconds: seconds(), error: 'the job has no validation examples' };
  const candidate = await recordFigures(ports.candidate, examples);
  const stable = ports.stable === null ? null : { version: ports.stable.version, ...(await recordFigures(ports.stable.evaluate, examples)) };
  const out: CompletionEvaluation = { validation_n: examples.length, candidate, stable, seconds: seconds() };
  if (total > examples.length) out.validation_total = total;
  return out;
}

/**
 * A JSON file of the export, or undefined when it is absent. A file that is there but unreadable is
 * reported through `onProblem` and left out, rather than failing the job over a side file.
 */
export async function readExportJson(dir: string, name: string, onProblem: (message: string) => void): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onProblem(`${name}: ${messageOf(err)}`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    onProblem(`${name} is not JSON: ${messageOf(err)}`);
    return undefined;
  }
}

/**
 * `probe.json` holds the input prime should warm a version with (docs/prime.md): the experience `input`
 * object itself, or `{input: {...}}`. Anything else is left out.
 */
export function probeInputOf(probe: unknown): Record<string, unknown> | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(probe)) return undefined;
  if (isObject(probe.input)) return probe.input;
  return probe;
}
