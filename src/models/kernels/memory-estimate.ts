/**
 * What a training job adds to the machine: the peak resident memory (RSS) of its trainer child process,
 * estimated before the start so JARVIS reserves the job's own need rather than a flat figure (CONTRACT §6).
 * Each trainer lists what it allocates (`<type>-memory.ts`, next to its code); this file holds the parts
 * every trainer child has: the Node runtime, the parsed dataset, and the slack of V8's heap.
 * test/training/memory-estimate.test.ts runs real jobs of every type and holds each estimate between the
 * measured peak and twice it.
 */
import type { Example } from '../types.js';

/** The estimate of one job: bytes, and what they are made of in words (shown in JARVIS's waiting reasons). */
export interface MemoryEstimate {
  bytes: number;
  basis: string;
}

/** One counted allocation: what it is (e.g. "table 105,184 × 64") and its bytes. */
export interface MemoryPart {
  what: string;
  bytes: number;
}

export const MIB = 1024 * 1024;

/**
 * Node 24 with the trainer modules loaded, onnxruntime's native library among them: 71 MB measured RSS
 * before a trainer reads its data. Kept at the 80 MB measured when TF.js's wasm backend was loaded
 * instead, which the measured peaks of every type were checked against (memory-estimate.test.ts).
 */
export const TRAINER_RUNTIME_BYTES = 80 * MIB;
/** V8's young generation fully grown (two 16 MB semi-spaces on a 64-bit machine): every job fills it. */
export const YOUNG_GENERATION_BYTES = 32 * MIB;
/**
 * V8 lets its old generation grow to about twice what survived the last full collection before it
 * collects again, so JS objects (not typed arrays, which live outside the heap) cost twice their size.
 */
export const HEAP_GROWTH = 2;
/**
 * The counted allocations are exact for typed arrays but not for what V8 and the allocator add around
 * them (garbage awaiting collection, fragmentation, freed pages not yet returned): the sum gets this much
 * on top. Measured peaks of real jobs of every type sit at 0.6–0.9 of the estimate.
 */
export const HEADROOM = 1.25;

// V8's sizes on a 64-bit machine without pointer compression (Node's build): a header, then 8-byte slots.
const OBJECT_HEADER = 24;
const ARRAY_HEADER = 32 + 16;
const STRING_HEADER = 16;
const SLOT = 8;
/** Code units above this make V8 store a string with two bytes per unit. */
const LATIN1_MAX = 0xff;

function stringBytes(s: string): number {
  let wide = false;
  for (let i = 0; i < s.length && !wide; i++) wide = s.charCodeAt(i) > LATIN1_MAX;
  return STRING_HEADER + s.length * (wide ? 2 : 1);
}

/** The bytes V8 takes for `v` as JSON.parse builds it (property names are shared, so not counted). */
export function valueBytes(v: unknown): number {
  if (typeof v === 'string') return stringBytes(v);
  if (Array.isArray(v)) return v.reduce((sum: number, x) => sum + SLOT + (typeof x === 'object' || typeof x === 'string' ? valueBytes(x) : 0), ARRAY_HEADER);
  if (v !== null && typeof v === 'object') {
    return Object.values(v).reduce((sum: number, x) => sum + SLOT + (typeof x === 'object' || typeof x === 'string' ? valueBytes(x) : 0), OBJECT_HEADER);
  }
  return 0;
}

/** Approximate bytes of `v` as JSON text (a line of the dataset file). */
function jsonBytes(v: unknown): number {
  if (typeof v === 'string') return v.length + 2;
  if (typeof v === 'number') return 8;
  if (Array.isArray(v)) return v.reduce((sum: number, x) => sum + 1 + jsonBytes(x), 2);
  if (v !== null && typeof v === 'object') return Object.entries(v).reduce((sum: number, [k, x]) => sum + k.length + 4 + jsonBytes(x), 2);
  return 5;
}

/**
 * The dataset as the trainer child holds it: every example parsed from the job's JSONL file (JS objects,
 * so HEAP_GROWTH applies), and the file's lines, read whole before each is parsed.
 */
export function datasetParts(examples: readonly Example[]): MemoryPart[] {
  let heap = 0;
  let text = 0;
  for (const ex of examples) {
    heap += valueBytes(ex);
    text += jsonBytes(ex) + 40;
  }
  return [
    { what: `${examples.length.toLocaleString('en-US')} examples parsed`, bytes: HEAP_GROWTH * heap },
    { what: 'their dataset-file lines', bytes: text },
  ];
}

function mb(bytes: number): string {
  const m = bytes / MIB;
  return m >= 10 ? String(Math.round(m)) : m.toFixed(1);
}

/**
 * The estimate from a trainer's own parts: the runtime and young generation every trainer child has,
 * plus the parts, times HEADROOM. The basis names each part, largest first, e.g. "nlu estimate: runtime
 * 112 MB + table 105,184 × 64 27 MB + … (× 1.25 headroom) = 320 MB".
 */
export function memoryEstimate(modelType: string, parts: readonly MemoryPart[]): MemoryEstimate {
  const all = [{ what: 'Node runtime', bytes: TRAINER_RUNTIME_BYTES + YOUNG_GENERATION_BYTES }, ...parts.filter((p) => p.bytes > 0)];
  const bytes = Math.ceil(all.reduce((sum, p) => sum + p.bytes, 0) * HEADROOM);
  const shown = [...all].sort((a, b) => b.bytes - a.bytes).map((p) => `${p.what} ${mb(p.bytes)} MB`);
  return { bytes, basis: `${modelType} estimate: ${shown.join(' + ')} (× ${HEADROOM} headroom) = ${mb(bytes)} MB` };
}
