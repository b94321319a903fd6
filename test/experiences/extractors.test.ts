import { describe, expect, it } from 'vitest';
import { normalizeExperience, type NormalizedExperience } from '../../src/experiences/index.js';
import { PNG_BASE64, wavBase64 } from './helpers.js';

function norm(raw: Record<string, unknown>): NormalizedExperience {
  const res = normalizeExperience(raw);
  if (!res.ok) throw new Error(res.error);
  return res.experience;
}

describe('voice extractor', () => {
  it('accepts an audio embedding of finite numbers with user (or speaker) as label', () => {
    const e = norm({ type: 'voice_auth', input: { audio_embedding: [0.1, -2, 3] }, expected_output: { speaker: 'derek' } });
    expect(e.example).toMatchObject({ input: { audio_embedding: [0.1, -2, 3] }, label: 'derek' });
    expect(norm({ type: 'voice_auth', input: { audio_embedding: [1, 'x'] }, expected_output: { user: 'u' } }).reason).toBe(
      'input.audio_embedding[1] must be a finite number, got "x"',
    );
  });

  it('accepts base64 PCM16 mono WAV (any rate, data URL too) and names what is wrong otherwise', () => {
    const ok = norm({ type: 'voice_auth', input: { audio: wavBase64({ rate: 16000 }) }, expected_output: { user: 'u' } });
    expect(ok.example?.input).toMatchObject({ sample_rate: 16000 });
    expect(norm({ type: 'voice_auth', input: { audio: `data:audio/wav;base64,${wavBase64()}` }, expected_output: { user: 'u' } }).kind).toBe('example');
    const reason = (audio: string) => norm({ type: 'voice_auth', input: { audio }, expected_output: { user: 'u' } }).reason;
    expect(reason(wavBase64({ channels: 2 }))).toBe('input.audio must be mono, got 2 channels');
    expect(reason(wavBase64({ bits: 8 }))).toBe('input.audio must be 16-bit PCM, got 8 bits per sample');
    expect(reason(wavBase64({ format: 3, bits: 16 }))).toBe('input.audio must be PCM WAV, got audio format 3');
    expect(reason(Buffer.from('hello world, not audio').toString('base64'))).toBe('input.audio is not a base64 WAV file (no RIFF/WAVE header)');
    expect(norm({ type: 'voice_auth', input: {}, expected_output: { user: 'u' } }).reason).toBe('input.audio_embedding (or input.audio) is missing');
  });
});

describe('vision extractor', () => {
  it('accepts pixels whose count is width × height, and refuses a mismatch', () => {
    const e = norm({ type: 'vision', input: { pixels: [0, 1, 2, 3, 4, 5], width: 3, height: 2 }, expected_output: { label: 7 } });
    expect(e.example).toMatchObject({ input: { width: 3, height: 2, channels: 1 }, label: '7' });
    expect(norm({ type: 'vision', input: { pixels: [0, 1, 2], width: 2, height: 2 }, expected_output: { label: 'a' } }).reason).toBe(
      'input.pixels has 3 values, expected 2×2 = 4 (grey) or ×3 = 12 (RGB)',
    );
    expect(norm({ type: 'vision', input: { pixels: [1], width: 0, height: 1 }, expected_output: { label: 'a' } }).reason).toBe(
      'input.width must be a positive integer, got 0',
    );
  });

  it('accepts a base64 PNG or JPEG image and refuses other bytes', () => {
    expect(norm({ type: 'vision', input: { image: PNG_BASE64 }, expected_output: { label: 'cat' } }).kind).toBe('example');
    expect(norm({ type: 'vision', input: { image: 'aGVsbG8gd29ybGQ=' }, expected_output: { label: 'cat' } }).reason).toBe(
      'input.image is not a base64 PNG or JPEG (unknown file signature)',
    );
  });
});

describe('embedding extractor', () => {
  it('accepts a positive pair without a label', () => {
    const e = norm({ type: 'pair', input: { text: 'a cat', positive: 'a kitten' } });
    expect(e.example).toMatchObject({ input: { text: 'a cat', positive: 'a kitten' } });
    expect(e.example?.label).toBeUndefined();
  });

  it('accepts a scored pair with expected_output.score from 0 to 5', () => {
    const e = norm({ type: 'embedding', input: { text_a: 'a', text_b: 'b' }, expected_output: { score: 3.2 } });
    expect(e.example).toMatchObject({ input: { text_a: 'a', text_b: 'b' }, score: 3.2 });
    expect(norm({ type: 'embedding', input: { text_a: 'a', text_b: 'b' }, expected_output: { score: 7 } }).reason).toBe(
      'expected_output.score must be a number from 0 to 5, got 7',
    );
    expect(norm({ type: 'embedding', input: { text_a: 'a', text_b: 'b' } }).reason).toContain('expected_output.score is missing');
    expect(norm({ type: 'embedding', input: { text_a: 'a' }, expected_output: { score: 1 } }).reason).toBe('input.text_b is missing');
  });
});
