/**
 * Decodes base64 PNG and JPEG images into 8-bit interleaved pixels, with pure-JS libraries (pngjs,
 * jpeg-js) so nothing native has to install. Both decoders hand back RGBA; this collapses it to grey when
 * every pixel is grey (most digit and scan data sets), and composites alpha over white because a glyph
 * drawn on a transparent background otherwise loses its shape (its RGB is often all zero).
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { TrainingInvalidRequest } from '../../errors.js';
import type { TrinityError } from '../../errors.js';

/** Decoded pixels, row-major, channels interleaved (HWC), values 0–255. */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** Larger images are refused before decoding: a few bytes of PNG can claim gigabytes (decompression bombs). */
export const MAX_IMAGE_PIXELS = 4096 * 4096;
/** jpeg-js refuses to allocate more than this while decoding (its own guard, in MB). */
const JPEG_MAX_MEMORY_MB = 256;

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
/** Strict base64 (standard or URL alphabet, optional padding), after whitespace is removed. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** A `data:image/png;base64,` prefix, which browsers' toDataURL() adds. */
const DATA_URL = /^data:image\/[a-z+.-]+;base64,/i;

function startsWith(buf: Uint8Array, magic: readonly number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}

function invalid(field: string, what: string, cause?: unknown): TrinityError {
  return cause === undefined ? TrainingInvalidRequest(`${field} ${what}`) : TrainingInvalidRequest.with({ cause }, `${field} ${what}`);
}

/** The bytes of a base64 string (a data URL prefix is allowed); throws naming `field` otherwise. */
export function decodeBase64(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || value.length === 0) throw invalid(field, 'must be a non-empty base64 string');
  const text = value.replace(DATA_URL, '').replace(/\s+/g, '');
  if (!BASE64.test(text)) throw invalid(field, 'is not valid base64');
  return new Uint8Array(Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64'));
}

function checkSize(width: number, height: number, field: string): void {
  if (!(width > 0 && height > 0)) throw invalid(field, `has an empty ${width}×${height} image`);
  if (width * height > MAX_IMAGE_PIXELS) throw invalid(field, `is ${width}×${height}, more than the ${MAX_IMAGE_PIXELS} pixels allowed`);
}

/** Width and height from the PNG header (IHDR is always the first chunk), read before decoding. */
function pngSize(bytes: Uint8Array, field: string): void {
  if (bytes.length < 24) throw invalid(field, 'is a truncated PNG');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkSize(view.getUint32(16), view.getUint32(20), field);
}

/** JPEG start-of-frame markers (baseline, progressive, …): they carry the size and the component count. */
const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
/** PNG colour types that decode to grey (0 grey, 4 grey with alpha); the others may be colour. */
const PNG_GREY_TYPES = new Set([0, 4]);

/**
 * Width, height and (at most) channels of PNG or JPEG bytes from their headers, without decoding the
 * pixels: for sizing a job before it runs. Undefined when the header cannot be read.
 */
export function imageHeader(bytes: Uint8Array): { width: number; height: number; channels: 1 | 3 } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (startsWith(bytes, PNG_MAGIC) && bytes.length >= 26) {
    return { width: view.getUint32(16), height: view.getUint32(20), channels: PNG_GREY_TYPES.has(bytes[25]) ? 1 : 3 };
  }
  if (!startsWith(bytes, JPEG_MAGIC)) return undefined;
  for (let at = 2; at + 9 < bytes.length && bytes[at] === 0xff; at += 2 + view.getUint16(at + 2)) {
    if (JPEG_SOF.has(bytes[at + 1])) return { height: view.getUint16(at + 5), width: view.getUint16(at + 7), channels: bytes[at + 9] === 1 ? 1 : 3 };
  }
  return undefined;
}

/**
 * Channels of one pixel may differ by this much (0–255) and still count as grey: a grey picture saved as
 * colour JPEG comes back with a level or two of chroma noise, and would otherwise turn a model RGB.
 */
const GREY_TOLERANCE = 3;

/** Turns RGBA into grey (the channel mean) or RGB: alpha over white, grey when every pixel is. */
function fromRgba(rgba: Uint8Array, width: number, height: number): DecodedImage {
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  let grey = true;
  for (let i = 0; i < n; i++) {
    const a = rgba[4 * i + 3];
    for (let c = 0; c < 3; c++) {
      // a/255 of the colour plus (1 - a/255) of white, rounded back to a byte.
      rgb[3 * i + c] = a === 255 ? rgba[4 * i + c] : Math.round((rgba[4 * i + c] * a + 255 * (255 - a)) / 255);
    }
    const r = rgb[3 * i];
    const g = rgb[3 * i + 1];
    const b = rgb[3 * i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > GREY_TOLERANCE) grey = false;
  }
  if (!grey) return { width, height, channels: 3, data: rgb };
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.round((rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3);
  return { width, height, channels: 1, data };
}

/** Decodes PNG or JPEG bytes (told apart by their signature); throws TrainingInvalidRequest naming `field`. */
export function decodeImageBytes(bytes: Uint8Array, field: string): DecodedImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (startsWith(bytes, PNG_MAGIC)) {
    pngSize(bytes, field);
    let png: PNG;
    try {
      png = PNG.sync.read(buffer);
    } catch (err) {
      throw invalid(field, `could not be decoded as PNG: ${(err as Error).message}`, err);
    }
    return fromRgba(png.data, png.width, png.height);
  }
  if (startsWith(bytes, JPEG_MAGIC)) {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(buffer, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: JPEG_MAX_MEMORY_MB });
    } catch (err) {
      throw invalid(field, `could not be decoded as JPEG: ${(err as Error).message}`, err);
    }
    checkSize(img.width, img.height, field);
    return fromRgba(img.data, img.width, img.height);
  }
  throw invalid(field, 'is not a PNG or JPEG image (unknown file signature)');
}

/** Decodes a base64 PNG or JPEG string; throws TrainingInvalidRequest naming `field`. */
export function decodeImage(value: unknown, field = 'input.image'): DecodedImage {
  return decodeImageBytes(decodeBase64(value, field), field);
}
