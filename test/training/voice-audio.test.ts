import { describe, expect, it } from 'vitest';
import {
  analysisPlan,
  audioFeatures,
  decodeBase64Wav,
  decodeWav,
  encodeWav,
  featureLength,
  hzToMel,
  melToHz,
  type AudioFeatureConfig,
} from '../../src/models/audio/index.js';
import { TrinityError } from '../../src/errors.js';
import { AUDIO_FEATURE_DEFAULTS } from '../../src/models/voice/options.js';
import { fsddBase64 } from '../fixtures/voice-fsdd.js';

const CONFIG: AudioFeatureConfig = { ...AUDIO_FEATURE_DEFAULTS, maxHz: 3800 };

/** A voiced-sounding test signal: harmonics of `f0` with a slow amplitude swell, at `rate` Hz. */
function vowel(rate: number, seconds: number, f0 = 140): Float32Array {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    let s = 0;
    for (let h = 1; h * f0 < 3500; h++) s += Math.sin(2 * Math.PI * h * f0 * t) / h;
    out[i] = 0.2 * s * Math.sin((Math.PI * i) / n);
  }
  return out;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** A WAV header with the given fmt fields and `dataBytes` of zeros. */
function wavWith(fmt: { format?: number; channels?: number; rate?: number; bits?: number }, dataBytes = 8): Uint8Array {
  const bytes = encodeWav(new Float32Array(dataBytes / 2), fmt.rate ?? 8000);
  const view = new DataView(bytes.buffer);
  view.setUint16(20, fmt.format ?? 1, true);
  view.setUint16(22, fmt.channels ?? 1, true);
  view.setUint16(34, fmt.bits ?? 16, true);
  return bytes;
}

function rejection(f: () => unknown): TrinityError {
  try {
    f();
  } catch (err) {
    if (err instanceof TrinityError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('decodeWav', () => {
  it('round-trips PCM16 mono samples through encodeWav', () => {
    const samples = Float32Array.of(0, 0.5, -0.5, 0.25, -1);
    const { sampleRate, samples: back } = decodeWav(encodeWav(samples, 16000), 'input.audio');
    expect(sampleRate).toBe(16000);
    expect(Array.from(back)).toEqual(Array.from(samples));
  });

  it('decodes a real FSDD recording and accepts a data: URL prefix', () => {
    const audio = decodeBase64Wav(`data:audio/wav;base64,${fsddBase64('0_george_10.wav')}`, 'input.audio');
    expect(audio.sampleRate).toBe(8000);
    expect(audio.samples.length).toBeGreaterThan(1000);
  });

  it.each([
    ['stereo', wavWith({ channels: 2 }), /input\.audio must be mono, got 2 channels/],
    ['8-bit', wavWith({ bits: 8 }), /input\.audio must be 16-bit PCM, got 8 bits/],
    ['float', wavWith({ format: 3 }), /input\.audio must be PCM WAV, got audio format 3/],
    ['empty data', wavWith({}, 0), /input\.audio has no audio samples/],
    ['rate 0', wavWith({ rate: 0 }), /input\.audio sample rate must be/],
    ['not RIFF', new TextEncoder().encode('OggS and more bytes here'), /input\.audio is not a WAV file/],
  ])('rejects %s audio with TRN_ERR_TRAINING_INVALID_REQUEST naming input.audio', (_name, bytes, message) => {
    const err = rejection(() => decodeBase64Wav(b64(bytes), 'input.audio'));
    expect(err.code).toBe('TRN_ERR_TRAINING_INVALID_REQUEST');
    expect(err.statusCode).toBe(400);
    expect(err.message).toMatch(message);
  });

  it('rejects text that is not base64 and values that are not strings', () => {
    expect(rejection(() => decodeBase64Wav('hello, world!', 'input.audio')).message).toMatch(/input\.audio is not base64/);
    expect(rejection(() => decodeBase64Wav(42, 'input.audio')).message).toMatch(/input\.audio must be a base64 WAV string/);
  });

  it('reads the samples that are there when the data chunk claims more (truncated upload)', () => {
    const bytes = encodeWav(Float32Array.of(0.5, 0.25, 0.125), 8000);
    new DataView(bytes.buffer).setUint32(40, 1_000_000, true);
    expect(decodeWav(bytes, 'input.audio').samples.length).toBe(3);
  });
});

describe('analysisPlan', () => {
  it('places every mel filter on at least one FFT bin at 8 kHz and at 44.1 kHz', () => {
    for (const rate of [8000, 44100]) {
      const plan = analysisPlan(rate, CONFIG);
      expect(plan.filters).toHaveLength(CONFIG.melBands);
      for (const f of plan.filters) expect(f.weights.some((w) => w > 0)).toBe(true);
      expect(plan.fftSize).toBeGreaterThanOrEqual(plan.frameLength);
    }
  });

  it('converts between Hz and mel both ways', () => {
    expect(melToHz(hzToMel(1234))).toBeCloseTo(1234, 6);
  });
});

describe('audioFeatures', () => {
  it('gives 6 × mfcc finite values, bit-identical on every call', () => {
    const audio = decodeBase64Wav(fsddBase64('3_theo_12.wav'), 'input.audio');
    const a = audioFeatures(audio, CONFIG, 'input.audio');
    expect(a).toHaveLength(featureLength(CONFIG));
    expect(featureLength(CONFIG)).toBe(6 * CONFIG.mfcc);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(Buffer.from(audioFeatures(audio, CONFIG, 'input.audio').buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it('describes the same sound alike at 8 kHz and 16 kHz (filters in Hz, no resampling)', () => {
    const at8 = audioFeatures({ sampleRate: 8000, samples: vowel(8000, 0.5) }, CONFIG, 'input.audio');
    const at16 = audioFeatures({ sampleRate: 16000, samples: vowel(16000, 0.5) }, CONFIG, 'input.audio');
    const other = audioFeatures({ sampleRate: 8000, samples: vowel(8000, 0.5, 220) }, CONFIG, 'input.audio');
    // Compare the cepstral means: the part of the vector that describes the spectral envelope.
    const dist = (a: Float32Array, b: Float32Array) => Math.hypot(...Array.from({ length: CONFIG.mfcc }, (_, i) => a[i] - b[i]));
    expect(dist(at8, at16)).toBeLessThan(dist(at8, other) / 2);
  });

  it('handles digital silence and a clip shorter than one frame', () => {
    const silent = audioFeatures({ sampleRate: 8000, samples: new Float32Array(4000) }, CONFIG, 'input.audio');
    const tiny = audioFeatures({ sampleRate: 8000, samples: vowel(8000, 0.01) }, CONFIG, 'input.audio');
    expect(silent.every(Number.isFinite)).toBe(true);
    expect(tiny.every(Number.isFinite)).toBe(true);
  });

  it('refuses audio whose sample rate cannot cover the mel range, naming the field', () => {
    const err = rejection(() => audioFeatures({ sampleRate: 6000, samples: vowel(6000, 0.2) }, CONFIG, 'input.audio'));
    expect(err.code).toBe('TRN_ERR_TRAINING_INVALID_REQUEST');
    expect(err.message).toMatch(/input\.audio sample rate 6000 Hz is too low/);
  });
});
