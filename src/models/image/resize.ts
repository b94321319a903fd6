/**
 * Resizes interleaved (HWC) float images. Separable: each axis gets a small table of (source index,
 * weight) per output index, applied along rows, then along columns. Shrinking averages the source pixels
 * each output pixel covers (area resampling, like OpenCV's INTER_AREA and PIL's BOX), which keeps thin
 * strokes that point sampling would drop; enlarging interpolates linearly between pixel centres
 * (align_corners = false, like TF's and PIL's bilinear).
 */

/** For each output index, the source indices it reads and their weights (summing to 1). */
interface AxisTaps {
  start: Int32Array;
  count: Int32Array;
  index: Int32Array;
  weight: Float32Array;
}

function axisTaps(inSize: number, outSize: number): AxisTaps {
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const index: number[] = [];
  const weight: number[] = [];
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    start[o] = index.length;
    if (scale > 1) {
      // Shrinking: the output pixel covers [o·scale, (o+1)·scale) of the source; weight = overlap / scale.
      const lo = o * scale;
      const hi = lo + scale;
      for (let i = Math.floor(lo); i < Math.min(Math.ceil(hi), inSize); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 1e-9) {
          index.push(i);
          weight.push(overlap / scale);
        }
      }
    } else {
      // Enlarging (or same size): linear between the two nearest source centres, clamped at the edges.
      const centre = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
      const i0 = Math.floor(centre);
      const i1 = Math.min(i0 + 1, inSize - 1);
      const f = centre - i0;
      index.push(i0);
      weight.push(1 - f);
      if (i1 !== i0 && f > 0) {
        index.push(i1);
        weight.push(f);
      }
    }
    count[o] = index.length - start[o];
  }
  return { start, count, index: Int32Array.from(index), weight: Float32Array.from(weight) };
}

/**
 * `src` is `height × width × channels`; returns `outHeight × outWidth × channels`. The same size returns
 * a copy, so callers may always modify the result.
 */
export function resizeImage(src: Float32Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Float32Array {
  if (src.length !== width * height * channels) {
    throw new RangeError(`image has ${src.length} values, expected ${width}×${height}×${channels}`);
  }
  if (width === outWidth && height === outHeight) return src.slice();
  const tx = axisTaps(width, outWidth);
  const ty = axisTaps(height, outHeight);
  // Rows first: height × outWidth × channels.
  const mid = new Float32Array(height * outWidth * channels);
  for (let y = 0; y < height; y++) {
    for (let o = 0; o < outWidth; o++) {
      const dst = (y * outWidth + o) * channels;
      for (let t = tx.start[o]; t < tx.start[o] + tx.count[o]; t++) {
        const s = (y * width + tx.index[t]) * channels;
        const w = tx.weight[t];
        for (let c = 0; c < channels; c++) mid[dst + c] += w * src[s + c];
      }
    }
  }
  const out = new Float32Array(outHeight * outWidth * channels);
  const row = outWidth * channels;
  for (let o = 0; o < outHeight; o++) {
    for (let t = ty.start[o]; t < ty.start[o] + ty.count[o]; t++) {
      const s = ty.index[t] * row;
      const w = ty.weight[t];
      for (let k = 0; k < row; k++) out[o * row + k] += w * mid[s + k];
    }
  }
  return out;
}
