/**
 * The voice model as a portable ONNX graph (onnx-export.ts): a clip's raw feature vector in (pooled MFCC
 * statistics, or the speaker embedding an embedding model was trained on), user probabilities out,
 * computing what VoicePredictor does: standardise with the training set's mean and deviation (stored in
 * the graph), the dense layers, a softmax. `authenticated` is the top probability against the calibrated
 * threshold, which the description carries.
 */
import { GraphBuilder } from '../graph/builder.js';
import { denseClassifierForward, paramNames, paramShapes } from '../graph/dense-graphs.js';
import { div, softmax, sub } from '../graph/ops.js';
import { FEATURE_BLOCKS } from '../audio/index.js';
import { CLASSIFIER_DECISION, classifierOutputs, PortableGraph, type OnnxDescription } from '../kernels/onnx-export.js';
import type { VoiceModel } from './files.js';
import type { VoiceFeaturizer } from './input.js';

function featurisation(f: VoiceFeaturizer): Record<string, unknown> {
  if (f.kind === 'embedding') {
    return { kind: 'speaker-embedding', input: 'input.audio_embedding', length: f.length, steps: ['the numbers of input.audio_embedding as float32, unchanged (standardisation is inside the graph)'] };
  }
  const a = f.audio;
  return {
    kind: 'pooled-mfcc',
    reference: 'src/models/audio (wav.ts decodes, features.ts and filterbank.ts compute the vector)',
    input: 'input.audio: base64 RIFF/WAVE, PCM 16-bit, mono, any rate from 1 kHz',
    settings: a,
    steps: [
      'samples = int16 / 32768; keep the first round(maxSeconds · rate) samples; the rate must be at least ceil(2 · maxHz)',
      'frame = max(2, round(rate · frameMs / 1000)) samples, hop = max(1, round(rate · hopMs / 1000)); frames = 1 if n ≤ frame else 1 + floor((n − frame) / hop); samples past the end read 0',
      'each frame times a Hamming window 0.54 − 0.46·cos(2πi / (frame − 1)); no pre-emphasis; log energy = ln(Σ(x·w)² + 1e-10)',
      'fft = the next power of two ≥ frame (at least 4), zero-padded; power[k] = |X[k]|² / (fft · Σw²) for k = 0..fft/2',
      'melBands triangular filters with edges equally spaced on the mel scale 2595·log10(1 + hz/700) from minHz to maxHz; filter m spans edges m..m+2, weight at bin k (frequency k·rate/fft) = max(0, min((f − left)/(centre − left), (right − f)/(right − centre))) for bins ceil(left/binHz)..floor(right/binHz) (at most fft/2); a filter with no positive weight takes weight 1 on the bin nearest its centre',
      'log mel = ln(Σ weight·power + 1e-10); cepstra = the first mfcc rows of the orthonormal DCT-II (row k: √((k = 0 ? 1 : 2)/melBands) · cos(π·k·(m + 0.5)/melBands))',
      'deltas over ±deltaWidth frames, edge frames repeated: d[t] = Σ_k k·(c[min(T−1, t+k)] − c[max(0, t−k)]) / (2·Σ_k k²); delta-deltas are the deltas of the deltas',
      'voice activity: keep the frames whose log energy ≥ max log energy − (vadDb / 10)·ln 10',
      `vector = for each of ${FEATURE_BLOCKS.join(', ')}: per coefficient the mean (…_mean) or the population standard deviation (…_std) over the kept frames, mfcc values each; computed in float64, stored as float32`,
    ],
  };
}

export function buildVoiceOnnx(model: VoiceModel): { bytes: Uint8Array; description: OnnxDescription } {
  const sizes = model.layerSizes;
  const p = new PortableGraph(new GraphBuilder('trinity_voice'));
  const g = p.g;
  g.meta('model_type', 'voice');
  const what = model.featurizer.kind === 'audio' ? 'pooled MFCC statistics of one clip' : 'the speaker embedding (input.audio_embedding)';
  const x = p.input({ name: 'features', dtype: 'float32', shape: ['batch', sizes[0]], description: `Raw, unstandardised features, one row per clip: ${what} (featurisation in onnx.json / the manifest).` });
  const standardised = div(g, sub(g, x, g.initializer('feature_mean', model.mean, [sizes[0]])), g.initializer('feature_std', model.std, [sizes[0]]));
  const shapes = paramShapes(sizes);
  const params = paramNames(sizes).map((n, i) => g.initializer(n, model.head[i], shapes[i]));
  const acts = denseClassifierForward(g, sizes, params, standardised);
  softmax(g, acts[acts.length - 1], -1, 'probabilities');
  classifierOutputs(p, 'batch', model.labels);
  const decision = { ...CLASSIFIER_DECISION, authenticated: 'confidence >= threshold', threshold: model.calibration.threshold };
  return { bytes: g.encode(), description: p.describe({ labels: model.labels, decision, featurisation: featurisation(model.featurizer) }) };
}
