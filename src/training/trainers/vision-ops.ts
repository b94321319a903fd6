/**
 * The vision CNN's first-layer patches for the TF.js forward pass (vision-cnn.ts), cut in plain JS: the
 * first layer needs no gradient for its input, so one matmul over these rows is its whole convolution.
 */

/**
 * The patches of a 3×3 "same" convolution for examples `order[start..end)` of `data` ([count, h, w, c],
 * HWC per example), as `cols` ([rows, 9c + 1], row = (example, y, x), column = (tap, channel), then a
 * constant 1 that folds the bias into the matmul). The first layer needs no gradient for its input, so its
 * patches are cut here once and serve both the forward matmul and the filter gradient.
 */
export function im2col(
  data: Float32Array,
  geometry: { height: number; width: number; channels: number },
  order: ArrayLike<number>,
  start: number,
  end: number,
  cols: Float32Array,
): void {
  const { height: h, width: w, channels: c } = geometry;
  const size = h * w * c;
  const k = 9 * c + 1;
  let row = 0;
  for (let b = start; b < end; b++) {
    const base = order[b] * size;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++, row += k) {
        let dst = row;
        for (let sy = y - 1; sy <= y + 1; sy++) {
          for (let sx = x - 1; sx <= x + 1; sx++, dst += c) {
            if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
              const src = base + (sy * w + sx) * c;
              for (let ch = 0; ch < c; ch++) cols[dst + ch] = data[src + ch];
            } else {
              for (let ch = 0; ch < c; ch++) cols[dst + ch] = 0;
            }
          }
        }
        cols[row + k - 1] = 1;
      }
    }
  }
}
