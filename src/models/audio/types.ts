/** Settings of the voice featuriser; stored in every export so a predictor computes the very same features. */
export interface AudioFeatureConfig {
  /** Analysis frame length (ms). */
  frameMs: number;
  /** Step between frames (ms). */
  hopMs: number;
  /** Number of triangular mel filters. */
  melBands: number;
  /** Lower edge of the lowest mel filter (Hz). */
  minHz: number;
  /** Upper edge of the highest mel filter (Hz); audio whose Nyquist frequency is below it is refused. */
  maxHz: number;
  /** Cepstral coefficients kept, c0 included. */
  mfcc: number;
  /** Frames on each side in the delta regression. */
  deltaWidth: number;
  /** Frames more than this many dB below the loudest frame are treated as silence and left out of the statistics. */
  vadDb: number;
  /** Only the first this many seconds of a clip are analysed: enough for a speaker, and it bounds the work. */
  maxSeconds: number;
}

/** The pooled statistics, in output order. Each block has `mfcc` values. */
export const FEATURE_BLOCKS = ['mfcc_mean', 'mfcc_std', 'delta_mean', 'delta_std', 'delta2_mean', 'delta2_std'] as const;

export function featureLength(c: AudioFeatureConfig): number {
  return FEATURE_BLOCKS.length * c.mfcc;
}
