import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { TrinityError } from '../../src/errors.js';
import { decodeImage, resizeImage } from '../../src/models/image/index.js';
import { chooseGeometry, modelSize, toModelInput, type RawImage } from '../../src/models/vision/input.js';

/** A base64 PNG from RGBA bytes. */
function png(width: number, height: number, rgba: number[]): string {
  const img = new PNG({ width, height });
  img.data.set(rgba);
  return PNG.sync.write(img).toString('base64');
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof TrinityError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'no error';
}

describe('resizeImage', () => {
  it('returns a copy at the same size', () => {
    const src = Float32Array.of(1, 2, 3, 4);
    const out = resizeImage(src, 2, 2, 1, 2, 2);
    expect(out).toEqual(src);
    expect(out).not.toBe(src);
  });

  it('shrinks by averaging the pixels each output pixel covers, per channel', () => {
    // 4×2, two channels; halving both axes averages 2×2 blocks.
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(resizeImage(src, 4, 2, 2, 2, 1))).toEqual([5, 6, 9, 10]);
    // 3 → 2 covers 1.5 source pixels each: [a + b/2, b/2 + c] / 1.5.
    const third = resizeImage(Float32Array.of(3, 6, 9), 3, 1, 1, 2, 1);
    expect(third[0]).toBeCloseTo(4, 5);
    expect(third[1]).toBeCloseTo(8, 5);
  });

  it('enlarges by linear interpolation between pixel centres, clamped at the edges', () => {
    expect(Array.from(resizeImage(Float32Array.of(0, 4), 2, 1, 1, 4, 1))).toEqual([0, 1, 3, 4]);
  });

  it('keeps a thin stroke that point sampling would drop', () => {
    const src = new Float32Array(16 * 16);
    for (let y = 0; y < 16; y++) src[y * 16 + 5] = 1; // a one-pixel vertical line
    const out = resizeImage(src, 16, 16, 1, 8, 8);
    expect(out[2]).toBeCloseTo(0.5);
    expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(4);
  });

  it('refuses data that does not match its size', () => {
    expect(() => resizeImage(new Float32Array(5), 2, 2, 1, 4, 4)).toThrow('image has 5 values, expected 2×2×1');
  });
});

describe('decodeImage', () => {
  it('decodes a grey PNG to one channel, exactly', () => {
    const img = decodeImage(png(2, 1, [0, 0, 0, 255, 200, 200, 200, 255]));
    expect(img).toMatchObject({ width: 2, height: 1, channels: 1 });
    expect(Array.from(img.data)).toEqual([0, 200]);
  });

  it('decodes a colour PNG to RGB and composites transparency over white', () => {
    const img = decodeImage(png(2, 1, [255, 0, 0, 255, 0, 0, 0, 0]));
    expect(img.channels).toBe(3);
    expect(Array.from(img.data)).toEqual([255, 0, 0, 255, 255, 255]);
  });

  it('accepts a data URL prefix', () => {
    expect(decodeImage(`data:image/png;base64,${png(1, 1, [9, 9, 9, 255])}`).data[0]).toBe(9);
  });

  it('decodes a JPEG; a grey one comes back as one channel despite chroma rounding', () => {
    const rgba = Buffer.alloc(8 * 8 * 4);
    for (let i = 0; i < 64; i++) rgba.set([i * 4, i * 4, i * 4, 255], 4 * i);
    const b64 = jpeg.encode({ width: 8, height: 8, data: rgba }, 95).data.toString('base64');
    const img = decodeImage(b64);
    expect(img).toMatchObject({ width: 8, height: 8, channels: 1 });
    expect(Math.abs(img.data[63] - 252)).toBeLessThanOrEqual(8);
  });

  it('rejects undecodable bytes and oversized headers, naming the field', () => {
    const truncated = Buffer.from(png(4, 4, new Array(64).fill(100)), 'base64').subarray(0, 40).toString('base64');
    expect(code(() => decodeImage(truncated, 'input.image'))).toMatch(/^TRN_ERR_TRAINING_INVALID_REQUEST: input\.image could not be decoded as PNG/);
    const header = Buffer.from(png(1, 1, [0, 0, 0, 255]), 'base64');
    header.writeUInt32BE(100_000, 16);
    header.writeUInt32BE(100_000, 20);
    expect(code(() => decodeImage(header.toString('base64')))).toContain('input.image is 100000×100000, more than the 16777216 pixels allowed');
    expect(code(() => decodeImage(Buffer.from([0xff, 0xd8, 0xff, 0, 1, 2]).toString('base64')))).toContain('input.image could not be decoded as JPEG');
    expect(code(() => decodeImage(42))).toContain('input.image must be a non-empty base64 string');
  });
});

describe('vision input geometry', () => {
  const raw = (width: number, height: number, channels: 1 | 3, fill: number, fromImage = false): RawImage => ({
    width,
    height,
    channels,
    data: new Float32Array(width * height * channels).fill(fill),
    fromImage,
  });

  it('keeps small sizes, scales large ones into 8–32 keeping the aspect, in multiples of 4', () => {
    expect(modelSize(8, 8)).toEqual({ width: 8, height: 8 });
    expect(modelSize(28, 28)).toEqual({ width: 28, height: 28 });
    expect(modelSize(64, 64)).toEqual({ width: 32, height: 32 });
    expect(modelSize(5, 7)).toEqual({ width: 8, height: 12 });
    expect(modelSize(640, 480)).toEqual({ width: 32, height: 24 });
  });

  it('takes the most common size, colour when any input is colour, and the largest pixel as the scale', () => {
    const g = chooseGeometry([raw(8, 8, 1, 16), raw(8, 8, 1, 3), raw(28, 28, 3, 200, true)]);
    expect(g).toEqual({ width: 8, height: 8, channels: 3, pixelScale: 16 });
    expect(chooseGeometry([raw(8, 8, 1, 0.5)]).pixelScale).toBe(1);
    expect(chooseGeometry([raw(8, 8, 1, 7, true)]).pixelScale).toBe(255);
    expect(chooseGeometry([raw(8, 8, 1, 1)], { width: 12, height: 16 })).toMatchObject({ width: 12, height: 16 });
  });

  it('normalises pixels by the data set scale and images by 255, turning RGB into grey by luma', () => {
    const out = new Float32Array(2 * 64);
    const geometry = { width: 8, height: 8, channels: 1 as const, pixelScale: 16 };
    toModelInput(raw(16, 16, 1, 8), geometry, out, 0);
    const rgb = raw(8, 8, 3, 0, true);
    for (let i = 0; i < 64; i++) rgb.data.set([255, 0, 0], 3 * i);
    toModelInput(rgb, geometry, out, 64);
    expect(out[0]).toBeCloseTo(0.5);
    expect(out[64]).toBeCloseTo(0.299);
  });
});
