/**
 * Identities: an experience is its `id` or the hash of its canonical JSON, and its train/validation
 * side is a function of that id alone, so it never changes between runs or machines.
 */
import { hash } from 'node:crypto';
import type { Split } from './types.js';

/** Share of experiences that land on the validation side (by id hash). */
export const VALIDATION_PERCENT = 10;

/** JSON.stringify replacer that hands over objects with their keys sorted (copying only when needed). */
function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1] < keys[i];
  if (sorted) return obj;
  // Null prototype: a "__proto__" key of the data is then copied as a key, not taken for the prototype setter.
  const copy: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of keys.sort()) copy[key] = obj[key];
  return copy;
}

/**
 * JSON with object keys sorted at every level, so two equal experiences written with different key
 * orders (Python dicts, JS objects) get the same content hash. Otherwise exactly JSON.stringify (which
 * is native, hence the replacer rather than a hand-written serialiser: about 3× faster).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, sortedKeys) ?? 'null';
}

export function sha256Hex(data: string | Uint8Array): string {
  // crypto.hash (Node >= 20.12) skips the Hash object: about twice as fast for small inputs.
  return hash('sha256', data, 'hex');
}

/** The id of an experience without its own `id`: SHA-256 of its canonical JSON. */
export function contentId(experience: unknown): string {
  return sha256Hex(canonicalJson(experience));
}

/** Train or validation, from the first 32 bits of SHA-256(id): stable and evenly spread whatever the ids look like. */
export function splitFor(id: string): Split {
  return Number.parseInt(sha256Hex(id).slice(0, 8), 16) % 100 < VALIDATION_PERCENT ? 'validation' : 'train';
}
