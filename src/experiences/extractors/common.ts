/**
 * What every extractor shares: the result type, label lookup and field helpers whose messages name
 * the field and the value received.
 */
import type { ModelType } from '../../model-types.js';
import type { JsonObject } from '../types.js';

/** Where a label was found, e.g. `expected_output.intent`. */
export interface FoundLabel {
  value: unknown;
  path: string;
}

/**
 * Finds the first of `names` in the label sources: `expected_output` first, then (only when the
 * experience says `success: true`) `actual_output` and `output`. A source that is not an object is the
 * label itself (`"expected_output": "PlayMusic"`).
 */
export type LabelLookup = (names: readonly string[]) => FoundLabel | undefined;

export type Extraction =
  | { status: 'ok'; input: JsonObject; label?: string; score?: number }
  /** No label in any source; `wanted` names where it was looked for. */
  | { status: 'no_label'; wanted: string }
  | { status: 'invalid'; reason: string };

export interface Extractor {
  readonly modelType: ModelType;
  /** `input` is the experience's `input` when it is an object, else undefined. */
  extract(input: JsonObject | undefined, label: LabelLookup): Extraction;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const MAX_SHOWN_CHARS = 60;

/** A short printable form of a value for messages: `"abc"`, `42`, `an array of 3`, `an object`. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isJsonObject(v)) return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > MAX_SHOWN_CHARS ? `${s.slice(0, MAX_SHOWN_CHARS)}…` : s;
}

/** The first of `names` present (not undefined or null) in `obj`, with its name. */
export function firstField(obj: JsonObject | undefined, names: readonly string[]): { name: string; value: unknown } | undefined {
  if (obj === undefined) return undefined;
  for (const name of names) {
    const value = obj[name];
    if (value !== undefined && value !== null) return { name, value };
  }
  return undefined;
}

/** "input.text (or input.query, input.utterance)" */
export function fieldList(prefix: string, names: readonly string[]): string {
  const [first, ...rest] = names;
  const alts = rest.length > 0 ? ` (or ${rest.map((n) => `${prefix}.${n}`).join(', ')})` : '';
  return `${prefix}.${first}${alts}`;
}

/** A class label: a non-empty string, or a finite number (digit classes) written as a string. */
export function classLabel(found: FoundLabel): { label: string } | { reason: string } {
  const v = found.value;
  if (typeof v === 'string' && v.trim() !== '') return { label: v.trim() };
  if (typeof v === 'number' && Number.isFinite(v)) return { label: String(v) };
  return { reason: `${found.path} must be a non-empty string, got ${describe(v)}` };
}

/** Looks up a class label under `names`, for nlu, voice and vision. */
export function extractClassLabel(lookup: LabelLookup, names: readonly string[]): { label: string } | Extraction {
  const found = lookup(names);
  if (found === undefined) return { status: 'no_label', wanted: fieldList('expected_output', names) };
  const res = classLabel(found);
  return 'label' in res ? res : { status: 'invalid', reason: res.reason };
}

/** A non-empty string field of `input` under one of `names`. */
export function textField(input: JsonObject | undefined, names: readonly string[]): { text: string } | { reason: string } {
  const found = firstField(input, names);
  if (found === undefined) return { reason: `${fieldList('input', names)} is missing` };
  if (typeof found.value !== 'string' || found.value.trim() === '') {
    return { reason: `input.${found.name} must be a non-empty string, got ${describe(found.value)}` };
  }
  return { text: found.value };
}

/** Finite numbers only: embeddings and pixels with NaN or strings in them would poison training. */
export function finiteNumbers(v: unknown, path: string): { values: number[] } | { reason: string } {
  if (!Array.isArray(v)) return { reason: `${path} must be an array of numbers, got ${describe(v)}` };
  if (v.length === 0) return { reason: `${path} must not be empty` };
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return { reason: `${path}[${i}] must be a finite number, got ${describe(x)}` };
  }
  return { values: v as number[] };
}
