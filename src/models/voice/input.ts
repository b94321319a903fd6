/**
 * One voice input → one feature vector, shared by training and every predictor so both see the same
 * numbers. A model is either an audio model (base64 WAV → pooled MFCC statistics) or an embedding model
 * (`input.audio_embedding`, one fixed length); bad input throws TrainingInvalidRequest naming the field.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { audioFeatures, decodeBase64Wav, featureLength, type AudioFeatureConfig } from '../audio/index.js';

export type VoiceInputKind = 'audio' | 'embedding';

/** How a model turns an input into its feature vector; stored in the export. */
export type VoiceFeaturizer = { kind: 'audio'; audio: AudioFeatureConfig } | { kind: 'embedding'; length: number };

export const AUDIO_FIELD = 'input.audio';
export const EMBEDDING_FIELD = 'input.audio_embedding';

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Which kind of input an experience carries; the embedding wins when both are there, as intake does. */
export function inputKind(input: Record<string, unknown>): VoiceInputKind | undefined {
  if (present(input.audio_embedding)) return 'embedding';
  if (present(input.audio)) return 'audio';
  return undefined;
}

export function featurizerLength(f: VoiceFeaturizer): number {
  return f.kind === 'audio' ? featureLength(f.audio) : f.length;
}

/** The finite numbers of `input.audio_embedding`, which must have `length` entries when given. */
export function embeddingValues(value: unknown, length?: number): Float32Array {
  if (!Array.isArray(value)) throw TrainingInvalidRequest(`${EMBEDDING_FIELD} must be an array of numbers, got ${value === null ? 'null' : typeof value}`);
  if (value.length === 0) throw TrainingInvalidRequest(`${EMBEDDING_FIELD} must not be empty`);
  if (length !== undefined && value.length !== length) {
    throw TrainingInvalidRequest(`${EMBEDDING_FIELD} must have ${length} numbers (the length this model was trained on), got ${value.length}`);
  }
  const out = new Float32Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const x: unknown = value[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw TrainingInvalidRequest(`${EMBEDDING_FIELD}[${i}] must be a finite number, got ${JSON.stringify(x) ?? typeof x}`);
    out[i] = x;
  }
  return out;
}

/** The feature vector of `input` under featuriser `f` (raw, before standardisation). */
export function inputVector(input: unknown, f: VoiceFeaturizer): Float32Array {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw TrainingInvalidRequest('input must be an object');
  const obj = input as Record<string, unknown>;
  if (f.kind === 'embedding') {
    if (!present(obj.audio_embedding)) {
      throw TrainingInvalidRequest(`${EMBEDDING_FIELD} is missing: this model was trained on speaker embeddings of length ${f.length}`);
    }
    return embeddingValues(obj.audio_embedding, f.length);
  }
  if (!present(obj.audio)) {
    throw TrainingInvalidRequest(`${AUDIO_FIELD} is missing: this model was trained on audio (base64 PCM16 mono WAV), not on embeddings`);
  }
  return audioFeatures(decodeBase64Wav(obj.audio, AUDIO_FIELD), f.audio, AUDIO_FIELD);
}
