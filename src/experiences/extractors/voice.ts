/** voice: `input.audio_embedding` (numbers) or `input.audio` (base64 PCM16 mono WAV) → user. */
import { describe, extractClassLabel, finiteNumbers, type Extractor } from './common.js';
import { checkWavBase64 } from './wav.js';

const LABEL_FIELDS = ['user', 'speaker'] as const;

export const voiceExtractor: Extractor = {
  modelType: 'voice',
  extract(input, lookup) {
    let features: Record<string, unknown>;
    if (input?.audio_embedding !== undefined && input.audio_embedding !== null) {
      const emb = finiteNumbers(input.audio_embedding, 'input.audio_embedding');
      if ('reason' in emb) return { status: 'invalid', reason: emb.reason };
      features = { audio_embedding: emb.values };
    } else if (input?.audio !== undefined && input.audio !== null) {
      if (typeof input.audio !== 'string') {
        return { status: 'invalid', reason: `input.audio must be a base64 WAV string, got ${describe(input.audio)}` };
      }
      const wav = checkWavBase64(input.audio, 'input.audio');
      if ('reason' in wav) return { status: 'invalid', reason: wav.reason };
      features = { audio: input.audio, sample_rate: wav.sampleRate };
    } else {
      return { status: 'invalid', reason: 'input.audio_embedding (or input.audio) is missing' };
    }
    const label = extractClassLabel(lookup, LABEL_FIELDS);
    if (!('label' in label)) return label;
    return { status: 'ok', input: features, label: label.label };
  },
};
