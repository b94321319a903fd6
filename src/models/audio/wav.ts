/**
 * Full decoding of the one WAV flavour the voice contract accepts: RIFF/WAVE, PCM 16-bit, mono, any
 * sample rate. The intake only checks the header (src/experiences/extractors/wav.ts); the trainer and the
 * predictor need the samples, and every way a file can fail is reported naming the field it came from.
 */
import { TrainingInvalidRequest } from '../../errors.js';

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Offset of the sub-format GUID inside an extensible `fmt ` chunk body; its first two bytes are the format tag. */
const EXTENSIBLE_SUBFORMAT_OFFSET = 24;
/** A `data` chunk size some streaming writers leave when they never seek back to fix it. */
const UNKNOWN_DATA_SIZE = 0xffffffff;
/** Rates outside this band are not audio a microphone makes; refusing them keeps frame sizes sane. */
export const MIN_SAMPLE_RATE_HZ = 1_000;
export const MAX_SAMPLE_RATE_HZ = 384_000;

const DATA_URL = /^data:[^,]*;base64,/i;
const BASE64_TEXT = /^[A-Za-z0-9+/\-_=\s]*$/;

export interface DecodedAudio {
  sampleRate: number;
  /** Samples scaled to [-1, 1). */
  samples: Float32Array;
}

/** The bytes of a base64 (or `data:` URL, standard or URL alphabet) string; `field` names it in errors. */
function base64Bytes(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw TrainingInvalidRequest(`${field} must be a base64 WAV string, got ${typeof value}`);
  const prefix = DATA_URL.exec(value.slice(0, 128));
  const body = prefix === null ? value : value.slice(prefix[0].length);
  // Node's decoder skips characters outside the alphabet silently; a string that is not base64 at all
  // would then decode to a few stray bytes and be reported as a bad header, which misleads.
  if (!BASE64_TEXT.test(body)) throw TrainingInvalidRequest(`${field} is not base64 text`);
  return Buffer.from(body, body.includes('-') || body.includes('_') ? 'base64url' : 'base64');
}

/** Decodes a base64 (or `data:` URL, standard or URL alphabet) WAV string; `field` names it in errors. */
export function decodeBase64Wav(value: unknown, field: string): DecodedAudio {
  return decodeWav(base64Bytes(value, field), field);
}

/**
 * The sample rate of a base64 WAV string that decodeBase64Wav would decode (it throws what that would
 * throw), without converting the samples: for a first pass over a training set that only needs its rates.
 */
export function base64WavSampleRate(value: unknown, field: string): number {
  return wavLayout(base64Bytes(value, field), field).sampleRate;
}

/** Decodes PCM16 mono WAV bytes. */
export function decodeWav(bytes: Uint8Array, field: string): DecodedAudio {
  const { sampleRate, dataStart, count } = wavLayout(bytes, field);
  return { sampleRate, samples: pcm16Samples(bytes, dataStart, count) };
}

/**
 * `count` little-endian int16 samples from `start`, scaled to [-1, 1). The loop has a function of its own:
 * inlined in decodeWav, V8 compiled it mid-loop and discarded that code at the loop's exit on every clip.
 */
function pcm16Samples(bytes: Uint8Array, start: number, count: number): Float32Array {
  const samples = new Float32Array(count);
  if (LITTLE_ENDIAN && (bytes.byteOffset + start) % 2 === 0) {
    // Aligned little-endian PCM: read as int16s directly, the same values as DataView's.
    const pcm = new Int16Array(bytes.buffer, bytes.byteOffset + start, count);
    for (let i = 0; i < count; i++) samples[i] = pcm[i] / 32768;
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) samples[i] = view.getInt16(start + 2 * i, true) / 32768;
  }
  return samples;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The format and where the samples are: every check decodeWav makes, none of the conversion. */
function wavLayout(bytes: Uint8Array, field: string): { sampleRate: number; dataStart: number; count: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw TrainingInvalidRequest(`${field} is not a WAV file (no RIFF/WAVE header)`);
  let sampleRate = 0;
  let haveFmt = false;
  let dataStart = -1;
  let dataBytes = 0;
  let off = 12;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw TrainingInvalidRequest(`${field} has a truncated fmt chunk`);
      let format = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      const bits = view.getUint16(body + 14, true);
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= EXTENSIBLE_SUBFORMAT_OFFSET + 2 && body + EXTENSIBLE_SUBFORMAT_OFFSET + 2 <= bytes.length) {
        format = view.getUint16(body + EXTENSIBLE_SUBFORMAT_OFFSET, true);
      }
      if (format !== WAVE_FORMAT_PCM) throw TrainingInvalidRequest(`${field} must be PCM WAV, got audio format ${format}`);
      if (channels !== 1) throw TrainingInvalidRequest(`${field} must be mono, got ${channels} channels`);
      if (bits !== 16) throw TrainingInvalidRequest(`${field} must be 16-bit PCM, got ${bits} bits per sample`);
      if (sampleRate < MIN_SAMPLE_RATE_HZ || sampleRate > MAX_SAMPLE_RATE_HZ) {
        throw TrainingInvalidRequest(`${field} sample rate must be ${MIN_SAMPLE_RATE_HZ}-${MAX_SAMPLE_RATE_HZ} Hz, got ${sampleRate}`);
      }
      haveFmt = true;
    } else if (id === 'data') {
      dataStart = body;
      // A truncated file or an unpatched streaming header: use the bytes that are really there.
      dataBytes = size === UNKNOWN_DATA_SIZE ? bytes.length - body : Math.min(size, bytes.length - body);
      break;
    }
    // Chunks are padded to an even size.
    off = body + size + (size % 2);
  }
  if (!haveFmt) throw TrainingInvalidRequest(`${field} has no fmt chunk before its audio data`);
  if (dataStart < 0) throw TrainingInvalidRequest(`${field} has no data chunk`);
  const count = dataBytes >> 1;
  if (count === 0) throw TrainingInvalidRequest(`${field} has no audio samples`);
  return { sampleRate, dataStart, count };
}

/** Encodes PCM16 mono WAV bytes: for tests and tools that need to make audio. */
export function encodeWav(samples: ArrayLike<number>, sampleRate: number): Uint8Array {
  const out = new Uint8Array(44 + 2 * samples.length);
  const view = new DataView(out.buffer);
  const put = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  view.setUint32(4, 36 + 2 * samples.length, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  put(36, 'data');
  view.setUint32(40, 2 * samples.length, true);
  for (let i = 0; i < samples.length; i++) {
    view.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768))), true);
  }
  return out;
}
