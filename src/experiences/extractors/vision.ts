/** vision: `input.image` (base64 PNG/JPEG) or `input.pixels` with `width` × `height` (× `channels`) values → label. */
import { decodeBase64Prefix } from './base64.js';
import { describe, extractClassLabel, finiteNumbers, type Extraction, type Extractor } from './common.js';
import type { JsonObject } from '../types.js';

const LABEL_FIELDS = ['label'] as const;
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function startsWith(buf: Buffer, magic: number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}

function positiveInt(v: unknown, path: string): { n: number } | { reason: string } {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return { n: v };
  return { reason: `${path} must be a positive integer, got ${describe(v)}` };
}

function imageInput(image: unknown): { input: JsonObject } | { reason: string } {
  if (typeof image !== 'string') return { reason: `input.image must be a base64 PNG or JPEG string, got ${describe(image)}` };
  const head = decodeBase64Prefix(image, 8);
  if (head === null || !(startsWith(head, PNG_MAGIC) || startsWith(head, JPEG_MAGIC))) {
    return { reason: 'input.image is not a base64 PNG or JPEG (unknown file signature)' };
  }
  return { input: { image } };
}

function pixelInput(input: JsonObject): { input: JsonObject } | { reason: string } {
  const pixels = finiteNumbers(input.pixels, 'input.pixels');
  if ('reason' in pixels) return pixels;
  const width = positiveInt(input.width, 'input.width');
  if ('reason' in width) return width;
  const height = positiveInt(input.height, 'input.height');
  if ('reason' in height) return height;
  // Without `channels`, grey or RGB follows from the length, as the trainer reads it.
  const area = width.n * height.n;
  const implied = pixels.values.length === area * 3 ? 3 : 1;
  const channels = input.channels === undefined ? { n: implied } : positiveInt(input.channels, 'input.channels');
  if ('reason' in channels) return channels;
  if (channels.n !== 1 && channels.n !== 3) return { reason: `input.channels must be 1 (grey) or 3 (RGB), got ${channels.n}` };
  const expected = area * channels.n;
  if (pixels.values.length !== expected) {
    const shape = input.channels === undefined ? `${width.n}×${height.n} = ${area} (grey) or ×3 = ${area * 3} (RGB)` : `${width.n}×${height.n}×${channels.n} = ${expected}`;
    return { reason: `input.pixels has ${pixels.values.length} values, expected ${shape}` };
  }
  return { input: { pixels: pixels.values, width: width.n, height: height.n, channels: channels.n } };
}

export const visionExtractor: Extractor = {
  modelType: 'vision',
  extract(input, lookup): Extraction {
    let features: { input: JsonObject } | { reason: string };
    if (input?.image !== undefined && input.image !== null) features = imageInput(input.image);
    else if (input?.pixels !== undefined && input.pixels !== null) features = pixelInput(input);
    else features = { reason: 'input.image (or input.pixels with width and height) is missing' };
    if ('reason' in features) return { status: 'invalid', reason: features.reason };
    const label = extractClassLabel(lookup, LABEL_FIELDS);
    if (!('label' in label)) return label;
    return { status: 'ok', input: features.input, label: label.label };
  },
};
