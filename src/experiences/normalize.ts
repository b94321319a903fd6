/**
 * CONTRACT §2 in one function: an experience as received → its id, model type, label, kind and
 * trainer example. Only something that is not an experience object at all is an item error; anything
 * else is kept, and when it cannot be trained on the reason names the field.
 */
import { EXPERIENCE_TYPE_TO_MODEL, MODEL_TYPES, isModelType, type ModelType } from '../model-types.js';
import type { Example } from '../models/types.js';
import { EXTRACTORS, describe, isJsonObject, type FoundLabel, type LabelLookup } from './extractors/index.js';
import { canonicalJson, sha256Hex, splitFor } from './identity.js';
import type { ExperienceKind, JsonObject, NormalizedExperience } from './types.js';

/** Longest accepted `id`; ids are stored and indexed, so unbounded ones would be a cheap attack. */
export const MAX_ID_CHARS = 256;
/**
 * Deepest nesting of objects and arrays in one experience. Real ones nest a handful of levels; a few
 * thousand overflow the stack of JSON.stringify, which would fail the whole request or file.
 */
export const MAX_NESTING = 64;

export interface NormalizeOptions {
  /** Model type for items without their own `model_type`: a batch's `model_type`, or a training job's. */
  defaultModelType?: unknown;
}

export type NormalizeResult = { ok: true; experience: NormalizedExperience } | { ok: false; error: string };

type Resolved = { modelType: ModelType } | { reason: string };

const KNOWN_MODEL_TYPES = MODEL_TYPES.join(', ');

function resolveModelType(raw: JsonObject, fallback: unknown): Resolved {
  const known = KNOWN_MODEL_TYPES;
  if (raw.model_type !== undefined && raw.model_type !== null) {
    return isModelType(raw.model_type) ? { modelType: raw.model_type } : { reason: `model_type ${describe(raw.model_type)} is not one of ${known}` };
  }
  if (fallback !== undefined && fallback !== null) {
    return isModelType(fallback) ? { modelType: fallback } : { reason: `the batch's model_type ${describe(fallback)} is not one of ${known}` };
  }
  if (raw.type === undefined || raw.type === null) return { reason: 'neither model_type nor type is given' };
  // Own keys only: a type named after an Object member ("constructor", "__proto__") is just an unknown type.
  const mapped = typeof raw.type === 'string' && Object.hasOwn(EXPERIENCE_TYPE_TO_MODEL, raw.type) ? EXPERIENCE_TYPE_TO_MODEL[raw.type] : undefined;
  if (mapped === undefined) {
    return { reason: `type ${describe(raw.type)} maps to no model type (known types: ${Object.keys(EXPERIENCE_TYPE_TO_MODEL).join(', ')})` };
  }
  return { modelType: mapped };
}

/** `quality_score` at the top level or in `metadata`; a value that is not a number is a reason. */
function readQuality(raw: JsonObject): { quality: number | null } | { reason: string } {
  let path = 'quality_score';
  let q: unknown = raw.quality_score;
  if ((q === undefined || q === null) && isJsonObject(raw.metadata)) {
    path = 'metadata.quality_score';
    q = raw.metadata.quality_score;
  }
  if (q === undefined || q === null) return { quality: null };
  if (typeof q !== 'number' || !Number.isFinite(q)) return { reason: `${path} must be a number, got ${describe(q)}` };
  return { quality: q };
}

/**
 * The label sources in order: `expected_output`, then — only when `success` is true, because then the
 * assistant's own answer was right — `actual_output` and `output`.
 */
function labelLookup(raw: JsonObject): LabelLookup {
  const sources: [string, unknown][] = [['expected_output', raw.expected_output]];
  if (raw.success === true) sources.push(['actual_output', raw.actual_output], ['output', raw.output]);
  return (names) => {
    for (const [path, source] of sources) {
      if (source === undefined || source === null) continue;
      if (!isJsonObject(source)) {
        if (Array.isArray(source)) continue;
        return { value: source, path } satisfies FoundLabel;
      }
      for (const name of names) {
        const value = source[name];
        if (value !== undefined && value !== null) return { value, path: `${path}.${name}` };
      }
    }
    return undefined;
  };
}

function validId(raw: JsonObject): { id: string | undefined } | { error: string } {
  const id = raw.id;
  if (id === undefined || id === null) return { id: undefined };
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_CHARS) {
    return { error: `id must be a non-empty string of at most ${MAX_ID_CHARS} characters, got ${describe(id)}` };
  }
  return { id };
}

/**
 * True when `value` nests objects or arrays more than `max` levels deep. Iterative: the values it guards
 * against are the ones deep enough to overflow the stack of any recursive walk (JSON.stringify among them).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Why an item is refused outright (not stored), or null. Cheap: no hashing, so a whole file can be
 * checked before any of it is committed.
 */
export function itemError(raw: unknown): string | null {
  if (!isJsonObject(raw)) return `an experience must be a JSON object, got ${describe(raw)}`;
  const idCheck = validId(raw);
  if ('error' in idCheck) return idCheck.error;
  if (nestedDeeperThan(raw, MAX_NESTING)) return `an experience may nest objects and arrays at most ${MAX_NESTING} levels deep`;
  return null;
}

interface Verdict {
  kind: ExperienceKind;
  reason: string | null;
  example: Example | null;
}

const unusable = (reason: string): Verdict => ({ kind: 'unusable', reason, example: null });

/** What the experience is good for, given its model type. */
function classify(raw: JsonObject, id: string, modelType: ModelType): Verdict {
  const input = isJsonObject(raw.input) ? raw.input : undefined;
  const extraction = EXTRACTORS[modelType].extract(input, labelLookup(raw));
  if (extraction.status === 'invalid') return unusable(extraction.reason);
  if (extraction.status === 'no_label') {
    if (raw.success === false) {
      return { kind: 'negative', reason: `negative feedback: success is false and ${extraction.wanted} is missing`, example: null };
    }
    const why = raw.success === true ? '' : ' (actual_output is used only when success is true)';
    return unusable(`no label: ${extraction.wanted} is missing${why}`);
  }
  const example: Example = { id, input: extraction.input };
  if (extraction.label !== undefined) example.label = extraction.label;
  if (extraction.score !== undefined) example.score = extraction.score;
  return { kind: raw.success === false ? 'correction' : 'example', reason: null, example };
}

export function normalizeExperience(raw: unknown, options: NormalizeOptions = {}): NormalizeResult {
  const refused = itemError(raw);
  if (refused !== null) return { ok: false, error: refused };
  const obj = raw as JsonObject;
  // itemError() checked the id: a string of the right length, or none.
  const ownId = typeof obj.id === 'string' ? obj.id : undefined;
  // The canonical JSON is computed once: it is both the content hash input and the stored body.
  const rawJson = ownId === undefined ? canonicalJson(obj) : null;
  const id = ownId ?? sha256Hex(rawJson ?? '');

  const quality = readQuality(obj);
  const resolved = resolveModelType(obj, options.defaultModelType);
  let verdict: Verdict;
  if ('reason' in resolved) verdict = unusable(resolved.reason);
  else if ('reason' in quality) verdict = unusable(quality.reason);
  else verdict = classify(obj, id, resolved.modelType);
  const experience: NormalizedExperience = {
    id,
    modelType: 'modelType' in resolved ? resolved.modelType : null,
    kind: verdict.kind,
    reason: verdict.reason,
    quality: 'quality' in quality ? quality.quality : null,
    split: splitFor(id),
    example: verdict.example,
    raw: obj,
    rawJson,
  };
  return { ok: true, experience };
}

/** Trainable now: an example or a correction whose quality (when given) reaches `minQuality`. */
export function isUsable(e: NormalizedExperience, minQuality: number): boolean {
  return e.example !== null && (e.quality === null || e.quality >= minQuality);
}

/** Why `e` is not trained on under `minQuality`, or null when it is. */
export function unusableReason(e: NormalizedExperience, minQuality: number): string | null {
  if (e.reason !== null) return e.reason;
  if (e.quality !== null && e.quality < minQuality) return `quality_score ${e.quality} is below the minimum ${minQuality}`;
  return null;
}
