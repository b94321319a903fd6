/**
 * The vision CNN's pieces that run in plain JS: cutting patches, routing a max-pool's gradient, flipping a
 * filter. The convolutions, matmuls and pools themselves run on TF.js (XNNPACK); these are the glue that
 * TF.js could only express as chains of slow kernels. Measured per optdigits step (batch 64, 8×8, 32/64
 * filters, 2-core machine):
 * - Max-pool gradient: TF.js needs a mask (Equal against an upsampled max: two ResizeNearestNeighbor, Step,
 *   Mul, Cast; ~1.6 ms at the first layer, plus a slow [10, 4096] @ [4096, 32] matmul for the filter
 *   gradient, ~1 ms). `routeToWinners` finds each positive window's winner by comparing with the pooled
 *   value and writes its gradient there, transposed, so the filter gradient is a [32, 4096] @ [4096, 10]
 *   matmul: ~0.2 ms each.
 * - Filter gradient of the second convolution: as a Conv2D with the batch as channels (plus Pad and three
 *   Transposes) ~3 ms; as `patchesT @ dy`, one plain matmul, ~1.3 ms plus ~0.4 ms to cut the patches here.
 *   The patches carry a row of ones, so the same matmul yields the bias gradient (a column Sum, 0.3–0.5 ms,
 *   otherwise). The transposed orientation matters: with the patches as XNNPACK's packed "weights" operand
 *   the matmul took 2.8 ms.
 * - The input gradient's filter, rotated by 180° with its channels swapped (`flipFilter`): Gather +
 *   Transpose kernels ~1.1 ms, a JS loop over 18k values a few µs.
 *
 * A window's winner is its first input in row-major order that equals the pooled value, so every step is
 * deterministic.
 */

/** Shape of a batch of HWC feature maps: [n, height, width, channels]. */
export interface MapShape {
  n: number;
  height: number;
  width: number;
  channels: number;
}

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

/**
 * The transposed patches of a 3×3 "same" convolution over `x` (shape `s`): `colsT` ([9c + 1, n·h·w],
 * row = (tap, channel), column = (example, y, x)), the last row all ones. `colsT @ dy` ([n·h·w, co]) is
 * then the filter gradient in [3, 3, c, co] order followed by the bias gradient.
 * With `x` transposed into `xT` ([c, n·h·w]) every row is `xT`'s channel row shifted by the tap: one
 * native copy, then zeros where the tap falls into the padding. Copied value by value, the short runs of
 * a 4×4 map made this 0.65 ms at 64×4×4×32; this way it is ~0.2 ms.
 */
export function patchesT(x: Float32Array, s: MapShape, xT: Float32Array, colsT: Float32Array): void {
  const { n, height: h, width: w, channels: c } = s;
  const size = h * w;
  const cols = n * size;
  transpose(x, cols, c, xT);
  for (let tap = 0; tap < 9; tap++) {
    const ty = Math.floor(tap / 3) - 1;
    const tx = (tap % 3) - 1;
    const shift = ty * w + tx;
    const outside = paddingPositions(h, w, ty, tx);
    for (let ch = 0; ch < c; ch++) {
      const dst = (tap * c + ch) * cols;
      const src = ch * cols + shift;
      // Positions clipped at either end of xT, or reading a neighbouring example or channel, are all
      // in the padding, and zeroed below.
      const from = Math.max(0, -src);
      const to = Math.min(cols, xT.length - src);
      colsT.set(xT.subarray(src + from, src + to), dst + from);
      for (let b = dst; b < dst + cols; b += size) {
        for (let i = 0; i < outside.length; i++) colsT[b + outside[i]] = 0;
      }
    }
  }
  colsT.fill(1, 9 * c * cols, (9 * c + 1) * cols);
}

/** The positions y·w + x of an h×w map whose tap (ty, tx) falls outside it. */
function paddingPositions(h: number, w: number, ty: number, tx: number): Int32Array {
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) if (y + ty < 0 || y + ty >= h || x + tx < 0 || x + tx >= w) out.push(y * w + x);
  }
  return Int32Array.from(out);
}

/**
 * The gradient of relu(maxPool2×2(z)) w.r.t. z, given `x` = relu(z) (shape `s`), `pooled` = its 2×2 max and
 * `dPooled` the gradient at the pooled output: each window whose max is positive passes its gradient to its
 * winner; everything else gets zero. Written into `dx` at [position · rowStride + channel · channelStride]
 * for position = (example, y, x): strides (c, 1) give [n·h·w, c], (1, n·h·w) its transpose [c, n·h·w].
 */
export function routeToWinners(x: Float32Array, pooled: Float32Array, dPooled: Float32Array, s: MapShape, dx: Float32Array, rowStride: number, channelStride: number): void {
  const { n, height: h, width: w, channels: c } = s;
  dx.fill(0, 0, n * h * w * c);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let py = 0; py < h / 2; py++) {
      for (let px = 0; px < w / 2; px++) {
        const topLeft = (b * h + 2 * py) * w + 2 * px;
        for (let ch = 0; ch < c; ch++, o++) {
          const v = pooled[o];
          if (!(v > 0)) continue;
          let p = topLeft;
          if (x[p * c + ch] !== v) {
            p = topLeft + 1;
            if (x[p * c + ch] !== v) {
              p = topLeft + w;
              if (x[p * c + ch] !== v) p = topLeft + w + 1;
            }
          }
          dx[p * rowStride + ch * channelStride] = dPooled[o];
        }
      }
    }
  }
}

/**
 * The filter of the input gradient of a 3×3 "same" convolution with filter `w` ([3, 3, ci, co]): rotated by
 * 180° and with the channels swapped, [3, 3, co, ci], so that dx = conv(dy, flipped).
 */
export function flipFilter(w: Float32Array, ci: number, co: number, flipped: Float32Array): void {
  for (let tap = 0; tap < 9; tap++) {
    const src = (8 - tap) * ci * co;
    const dst = tap * co * ci;
    for (let i = 0; i < ci; i++) {
      for (let o = 0; o < co; o++) flipped[dst + o * ci + i] = w[src + i * co + o];
    }
  }
}

/** `a` ([rows, cols], row-major) transposed into `out` ([cols, rows]). */
export function transpose(a: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) out[q * rows + r] = a[r * cols + q];
  }
}
