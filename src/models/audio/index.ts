/** The voice featuriser's public surface: WAV decoding and pooled MFCC statistics, both plain JS. */
export { audioFeatures, minSampleRate } from './features.js';
export { analysisPlan, hzToMel, melToHz, type AnalysisPlan } from './filterbank.js';
export { FEATURE_BLOCKS, featureLength, type AudioFeatureConfig } from './types.js';
export { base64WavSampleRate, decodeBase64Wav, decodeWav, encodeWav, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ, type DecodedAudio } from './wav.js';
