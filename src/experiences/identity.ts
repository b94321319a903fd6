/**
 * Identities: an experience is its `id` or the hash of its canonical JSON, and its train/validation
 * side is a function of that id alone, so it never changes between runs or machines.
 */
import { createHash } from 'node:crypto';
import type { Split } from './types.js';

/** Share of experiences that land on the validation side (by id hash). */
export const VALIDATION_PERCENT = 10;

/**
 * JSON with object keys sorted at every level, so two equal experiences written with different key
 * orders (Python dicts, JS objects) get the same content hash. `undefined` members are dropped as
 * JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    // Top-level undefined / functions have no JSON form; inside arrays JSON writes null.
    return s === undefined ? 'null' : s;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The id of an experience without its own `id`: SHA-256 of its canonical JSON. */
export function contentId(experience: unknown): string {
  return sha256Hex(canonicalJson(experience));
}

/** Train or validation, from the first 32 bits of SHA-256(id): stable and evenly spread whatever the ids look like. */
export function splitFor(id: string): Split {
  const h = createHash('sha256').update(id).digest();
  return h.readUInt32BE(0) % 100 < VALIDATION_PERCENT ? 'validation' : 'train';
}
