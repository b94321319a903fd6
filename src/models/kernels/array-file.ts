/**
 * Named typed arrays packed into one binary file, described by a small JSON manifest kept next to it.
 * Raw little-endian bytes: loading is a copy, never a parse, and a restored array equals the saved one bit
 * for bit (what exact resume needs).
 */
import { endianness } from 'node:os';

export type ArrayDtype = 'float32' | 'int32' | 'uint32';
export type StoredArray = Float32Array | Int32Array | Uint32Array;

/** Where one array sits in the binary file. */
export interface ArrayEntry {
  name: string;
  dtype: ArrayDtype;
  shape: number[];
  /** Byte offset in the file. */
  offset: number;
  /** Number of elements. */
  length: number;
}

export interface NamedArray {
  name: string;
  data: StoredArray;
  shape: number[];
}

function dtypeOf(a: StoredArray): ArrayDtype {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return 'uint32';
}

function assertLittleEndian(): void {
  // Every platform Node supports today is little-endian; refuse rather than write files others misread.
  if (endianness() !== 'LE') throw new Error('array files are little-endian; this machine is big-endian');
}

export function packArrays(arrays: readonly NamedArray[]): { bytes: Uint8Array; entries: ArrayEntry[] } {
  assertLittleEndian();
  const entries: ArrayEntry[] = [];
  let offset = 0;
  for (const a of arrays) {
    const size = a.shape.reduce((p, s) => p * s, 1);
    if (size !== a.data.length) throw new RangeError(`array ${a.name} has ${a.data.length} elements, shape [${a.shape.join(', ')}] needs ${size}`);
    entries.push({ name: a.name, dtype: dtypeOf(a.data), shape: [...a.shape], offset, length: a.data.length });
    offset += a.data.byteLength;
  }
  const bytes = new Uint8Array(offset);
  arrays.forEach((a, i) => bytes.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), entries[i].offset));
  return { bytes, entries };
}

/** The arrays of a file by name; throws if an entry lies outside the file or has an unknown dtype. */
export function unpackArrays(bytes: Uint8Array, entries: readonly ArrayEntry[]): Map<string, StoredArray> {
  assertLittleEndian();
  const out = new Map<string, StoredArray>();
  for (const e of entries) {
    const end = e.offset + e.length * 4;
    if (!Number.isInteger(e.offset) || !Number.isInteger(e.length) || e.offset < 0 || e.length < 0 || end > bytes.byteLength) {
      throw new RangeError(`array ${e.name} lies outside the ${bytes.byteLength}-byte file`);
    }
    // slice() copies into a fresh, aligned buffer whatever the file buffer's own offset was.
    const buf = bytes.buffer.slice(bytes.byteOffset + e.offset, bytes.byteOffset + end);
    if (e.dtype === 'float32') out.set(e.name, new Float32Array(buf));
    else if (e.dtype === 'int32') out.set(e.name, new Int32Array(buf));
    else if (e.dtype === 'uint32') out.set(e.name, new Uint32Array(buf));
    else throw new RangeError(`array ${String(e.name)} has unknown dtype ${String(e.dtype)}`);
  }
  return out;
}

/** The stored array `name`, checked to be `length` values of `kind`; a RangeError names what is wrong. */
export function needArray(arrays: Map<string, StoredArray>, name: string, length: number, kind: 'float32' | 'uint32'): StoredArray {
  const a = arrays.get(name);
  const ok = kind === 'float32' ? a instanceof Float32Array : a instanceof Uint32Array;
  if (!a || !ok || a.length !== length) throw new RangeError(`array ${name} is missing or not ${length} ${kind} values`);
  return a;
}
