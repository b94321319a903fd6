import { describe, expect, it } from 'vitest';
import { packArrays, unpackArrays } from '../../src/models/kernels/array-file.js';

describe('packArrays', () => {
  it('round-trips float32, int32 and uint32 arrays bit for bit, NaN and -0 included', () => {
    const f = Float32Array.of(1.5, -0, NaN, 3.4028234663852886e38, 1e-45);
    const i = Int32Array.of(-1, 0, 2147483647);
    const u = Uint32Array.of(0, 4294967295);
    const { bytes, entries } = packArrays([
      { name: 'f', data: f, shape: [5] },
      { name: 'i', data: i, shape: [3, 1] },
      { name: 'u', data: u, shape: [2] },
    ]);
    const back = unpackArrays(bytes.slice(), entries);
    expect(Buffer.from((back.get('f') as Float32Array).buffer).equals(Buffer.from(f.buffer))).toBe(true);
    expect(back.get('i')).toEqual(i);
    expect(back.get('u')).toEqual(u);
  });

  it('rejects a shape that does not match the data and an entry outside the file', () => {
    expect(() => packArrays([{ name: 'x', data: new Float32Array(3), shape: [2, 2] }])).toThrow(/shape \[2, 2\] needs 4/);
    const { bytes, entries } = packArrays([{ name: 'x', data: new Float32Array(3), shape: [3] }]);
    expect(() => unpackArrays(bytes, [{ ...entries[0], length: 4 }])).toThrow(/outside the 12-byte file/);
  });
});
