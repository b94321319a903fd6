/**
 * The probe prediction that warms a version before it gets traffic (docs/prime-protocol.md): the
 * manifest's `probe_input` when present, else a default for the type.
 */
import type { ModelType } from '../model-types.js';

export interface Probe {
  input: Record<string, unknown>;
  /**
   * False when the default cannot know the model's input shape (a voice model reads either WAV audio or
   * embeddings of a length fixed at training): a clean "bad input" answer then still proves the predictor
   * runs. A manifest's own probe_input is always strict.
   */
  strict: boolean;
}

/** 0.25 s of silence, PCM16 mono at 16 kHz, as a base64 WAV. */
function silentWavBase64(): string {
  const rate = 16_000;
  const samples = rate / 4;
  const data = samples * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVEfmt ', 8, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(data, 40);
  return b.toString('base64');
}

const DEFAULT_PROBES: Readonly<Record<ModelType, () => Probe>> = {
  nlu: () => ({ input: { text: 'hello' }, strict: true }),
  embedding: () => ({ input: { text: 'hello' }, strict: true }),
  voice: () => ({ input: { audio: silentWavBase64() }, strict: false }),
  vision: () => ({ input: { pixels: new Array<number>(32 * 32).fill(0), width: 32, height: 32 }, strict: false }),
};

export function probeFor(modelType: ModelType, manifestProbe: unknown): Probe {
  if (manifestProbe !== null && typeof manifestProbe === 'object' && !Array.isArray(manifestProbe)) {
    return { input: manifestProbe as Record<string, unknown>, strict: true };
  }
  return DEFAULT_PROBES[modelType]();
}
