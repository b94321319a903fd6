/**
 * The four shapes experiences arrive in (CONTRACT §2 "Files"), whatever the file is called: a spec
 * batch, the JARVIS forwarder envelope, one experience, or JSON lines. HTTP bodies use the same shapes
 * (plus a bare array). Each container can write back a copy holding only some of its items, which is
 * what goes to rejected/ when a few items of a file are bad.
 */
import { isUtf8 } from 'node:buffer';
import { describe, isJsonObject } from './extractors/index.js';
import type { ItemError, JsonObject } from './types.js';

export type ContainerForm = 'batch' | 'envelope' | 'array' | 'single' | 'lines';

export interface Container {
  form: ContainerForm;
  /** The experiences, in order. */
  items: unknown[];
  /** Where each item sits: its index in the list, or its 0-based line number for JSON lines. */
  positions: number[];
  /** `model_type` of a batch or envelope, applied to items without one. */
  defaultModelType: unknown;
  /** Items refused before normalisation (JSON lines that are not JSON). */
  itemErrors: ItemError[];
  /** JSON lines whose last line is cut off (not JSON, no newline after it): a writer may still be appending. */
  cutTail: boolean;
  /** The same container holding only the items at `positions` (and the refused lines), for rejected/. */
  subset(positions: ReadonlySet<number>): string;
}

/** Why a whole file or body cannot be used: a short error plus what and where. */
export interface ShapeError {
  error: string;
  details: string;
  /** The text may be a write still in progress (invalid JSON, empty, or a cut-off last line). */
  maybeIncomplete: boolean;
}

/** Fields that make an object an experience rather than something else that happens to be JSON. */
const EXPERIENCE_KEYS = ['type', 'model_type', 'input', 'expected_output', 'actual_output', 'output'] as const;
const LINE_EXTENSIONS = ['.jsonl', '.ndjson'];

function shape(error: string, details: string, maybeIncomplete = false): ShapeError {
  return { error, details, maybeIncomplete };
}

function pick<T>(items: T[], positions: ReadonlySet<number>): T[] {
  return items.filter((_, i) => positions.has(i));
}

function listContainer(
  form: ContainerForm,
  items: unknown[],
  defaultModelType: unknown,
  rebuild: (items: unknown[]) => unknown,
): Container {
  return {
    form,
    items,
    positions: items.map((_, i) => i),
    defaultModelType,
    itemErrors: [],
    cutTail: false,
    subset: (positions) => `${JSON.stringify(rebuild(pick(items, positions)), null, 2)}\n`,
  };
}

function envelopeContainer(obj: JsonObject): Container | ShapeError {
  if (obj.event_type !== 'learning_signal') {
    return shape('wrong shape', `event_type ${describe(obj.event_type)} is not "learning_signal"`);
  }
  const payload = obj.payload;
  if (!isJsonObject(payload)) return shape('wrong shape', `payload must be an object, got ${describe(payload)}`);
  const fallback = payload.model_type ?? obj.model_type;
  if (isJsonObject(payload.experience) && payload.experiences === undefined) {
    return listContainer('envelope', [payload.experience], fallback, (items) => ({ ...obj, payload: { ...payload, experience: items[0] } }));
  }
  if (!Array.isArray(payload.experiences)) {
    return shape('wrong shape', `payload.experiences must be an array, got ${describe(payload.experiences)}`);
  }
  if (payload.experiences.length === 0) return shape('no experiences', 'payload.experiences is empty');
  return listContainer('envelope', payload.experiences, fallback, (items) => ({ ...obj, payload: { ...payload, experiences: items } }));
}

/** A parsed JSON value → its container, or why it is none of the accepted shapes. */
export function containerFromJson(value: unknown): Container | ShapeError {
  if (Array.isArray(value)) {
    if (value.length === 0) return shape('no experiences', 'the array is empty');
    return listContainer('array', value, undefined, (items) => items);
  }
  if (!isJsonObject(value)) {
    return shape('wrong shape', `expected a batch, an envelope or an experience object, got ${describe(value)}`);
  }
  if (value.event_type !== undefined || value.payload !== undefined) return envelopeContainer(value);
  if (value.experiences !== undefined) {
    if (!Array.isArray(value.experiences)) {
      return shape('wrong shape', `experiences must be an array, got ${describe(value.experiences)}`);
    }
    if (value.experiences.length === 0) return shape('no experiences', 'experiences is empty');
    return listContainer('batch', value.experiences, value.model_type, (items) => ({ ...value, experiences: items }));
  }
  if (!EXPERIENCE_KEYS.some((k) => value[k] !== undefined)) {
    return shape('wrong shape', `an object with none of ${EXPERIENCE_KEYS.join(', ')} is not an experience`);
  }
  return listContainer('single', [value], undefined, (items) => items[0]);
}

/**
 * The 0-based lines of `bytes` that are not valid UTF-8. A newline byte never occurs inside a UTF-8
 * sequence, so the lines here are the lines of the decoded text.
 */
export function invalidUtf8Lines(bytes: Buffer): Set<number> {
  const bad = new Set<number>();
  for (let start = 0, line = 0; start <= bytes.length; line++) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline;
    if (!isUtf8(bytes.subarray(start, end))) bad.add(line);
    start = end + 1;
  }
  return bad;
}

const NOT_UTF8 = 'is not valid UTF-8';

/**
 * JSON lines: one experience a line; blank lines are skipped, lines that are not JSON (or, listed in
 * `notUtf8`, not UTF-8) are item errors.
 */
export function containerFromLines(text: string, notUtf8: ReadonlySet<number> = new Set()): Container | ShapeError {
  const lines = text.split(/\r?\n/);
  const items: unknown[] = [];
  const positions: number[] = [];
  const itemErrors: ItemError[] = [];
  let lastNonBlank = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    lastNonBlank = i;
    if (notUtf8.has(i)) {
      itemErrors.push({ index: i, error: `line ${i + 1} ${NOT_UTF8}` });
      continue;
    }
    try {
      items.push(JSON.parse(line));
      positions.push(i);
    } catch (err) {
      itemErrors.push({ index: i, error: `line ${i + 1} is not JSON: ${(err as Error).message}` });
    }
  }
  if (items.length === 0 && itemErrors.length === 0) return shape('empty file', 'no experiences in the file', true);
  // A cut-off last line (no newline after it, not JSON) is what a writer still appending looks like.
  const tailCut = lastNonBlank === lines.length - 1 && itemErrors.some((e) => e.index === lastNonBlank);
  if (items.length === 0) {
    return shape('no valid experiences', itemErrors.slice(0, 5).map((e) => e.error).join('; '), tailCut);
  }
  return {
    form: 'lines',
    items,
    positions,
    defaultModelType: undefined,
    itemErrors,
    cutTail: tailCut,
    subset: (wanted) => `${lines.filter((_, i) => wanted.has(i)).join('\n')}\n`,
  };
}

/**
 * File text → container: JSON lines by extension, or when the text is not one JSON value but its first
 * line is. `notUtf8`: the lines whose bytes were not UTF-8 (see invalidUtf8Lines); JSON lines lose just
 * those, any other file is refused whole.
 */
export function containerFromText(name: string, text: string, notUtf8?: ReadonlySet<number>): Container | ShapeError {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return shape('empty file', 'the file has no content', true);
  const lower = name.toLowerCase();
  if (LINE_EXTENSIONS.some((ext) => lower.endsWith(ext))) return containerFromLines(body, notUtf8);
  const looksLikeLines = () => body.trim().includes('\n') && looksLikeJsonObject(body.trimStart().split(/\r?\n/, 1)[0]);
  if (notUtf8 !== undefined && notUtf8.size > 0) {
    if (looksLikeLines()) return containerFromLines(body, notUtf8);
    let first = Infinity;
    for (const line of notUtf8) first = Math.min(first, line);
    return shape('not UTF-8', `line ${first + 1} ${NOT_UTF8}; save the file as UTF-8 (JSON text must be)`, true);
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    if (looksLikeLines()) return containerFromLines(body);
    return shape('not JSON', (err as Error).message, true);
  }
  return containerFromJson(value);
}

function looksLikeJsonObject(line: string): boolean {
  try {
    return isJsonObject(JSON.parse(line));
  } catch {
    return false;
  }
}

export function isShapeError(v: Container | ShapeError): v is ShapeError {
  return 'error' in v && !('items' in v);
}
