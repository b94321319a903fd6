/**
 * The vision CNN's building blocks, with gradients written so that every backward step is a fast kernel
 * on the TF.js wasm backend. Measured there (2 cores, CPU time per step), and why each one exists:
 * - The backend has no Conv2DBackpropFilter kernel, so tf.conv2d cannot train at all; conv3d with depth 1
 *   can, but its kernels are naive loops (~40× slower). `conv3x3` keeps XNNPACK's Conv2D forward and writes
 *   both gradients as Conv2D calls too: dx is a convolution of dy with the flipped, channel-swapped filter,
 *   and dW a convolution of the padded input (batch and channels swapped) with dy as the filter.
 * - matMul with transposeA/transposeB takes a slow path (~10× a plain one), and that is what TF.js's own
 *   matMul gradient uses; `matMul` transposes explicitly instead.
 * - MaxPoolGrad is slow, and ReLU's gradient costs three full-size kernels. `poolRelu` pools first (ReLU
 *   and max commute), then routes dy back through the argmax mask with a nearest-neighbour upsample: 2× less
 *   time at 28×28, bit-identical gradients.
 * - tf.losses.softmaxCrossEntropy builds a dozen kernels for its gradient; `softmaxCrossEntropy` needs three.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { Tf } from '../tf.js';

/** The filter taps of a 3×3 convolution in reverse order: rotating the filter by 180°. */
const FLIPPED_TAPS = [8, 7, 6, 5, 4, 3, 2, 1, 0];

export interface CnnOps {
  /** a @ b, with gradients that avoid transposed-matmul kernels. */
  matMul(a: tfjs.Tensor2D, b: tfjs.Tensor2D): tfjs.Tensor2D;
  /** 3×3 convolution, stride 1, zero padding 1 ("same"): [n,h,w,ci] * [3,3,ci,co] → [n,h,w,co]. */
  conv3x3(x: tfjs.Tensor4D, w: tfjs.Tensor4D): tfjs.Tensor4D;
  /** relu(maxPool2×2(x)) for even height and width. */
  poolRelu(x: tfjs.Tensor4D): tfjs.Tensor4D;
  /**
   * Per-example cross-entropy of softmax(logits) against one-hot targets; an all-zero target (a label the
   * model does not know) adds no loss. The gradient assumes every target is one-hot (true when training).
   */
  softmaxCrossEntropy(logits: tfjs.Tensor2D, target: tfjs.Tensor2D): tfjs.Tensor1D;
}

export function createCnnOps(tf: Tf): CnnOps {
  const matMul = tf.customGrad((...args) => {
    const [a, b, save] = args as [tfjs.Tensor2D, tfjs.Tensor2D, tfjs.GradSaveFunc];
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tfjs.Tensor2D, [sa, sb]: tfjs.Tensor[]) => [
        tf.matMul(dy, tf.transpose(sb as tfjs.Tensor2D)),
        tf.matMul(tf.transpose(sa as tfjs.Tensor2D), dy),
      ],
    };
  }) as (a: tfjs.Tensor2D, b: tfjs.Tensor2D) => tfjs.Tensor2D;

  const conv3x3 = tf.customGrad((...args) => {
    const [x, w, save] = args as [tfjs.Tensor4D, tfjs.Tensor4D, tfjs.GradSaveFunc];
    save([x, w]);
    return {
      value: tf.conv2d(x, w, 1, 'same'),
      gradFunc: (dy: tfjs.Tensor4D, saved: tfjs.Tensor[]) => {
        const sx = saved[0] as tfjs.Tensor4D;
        const sw = saved[1] as tfjs.Tensor4D;
        const [, , ci, co] = sw.shape;
        // Rotate 180° (reverse the 9 taps; gather is a fast kernel, Reverse is not) and swap in/out channels.
        const taps = tf.tensor1d(FLIPPED_TAPS, 'int32');
        const flipped = tf.reshape(tf.transpose(tf.gather(tf.reshape(sw, [9, ci, co]), taps), [0, 2, 1]), [3, 3, co, ci]) as tfjs.Tensor4D;
        const dx = tf.conv2d(dy, flipped, 1, 'same');
        // dW[kh,kw,i,o] = Σ_{n,y,x} xpad[n,y+kh,x+kw,i]·dy[n,y,x,o]: a valid convolution with channels as batch.
        const xpad = tf.pad(sx, [[0, 0], [1, 1], [1, 1], [0, 0]]);
        const corr = tf.conv2d(tf.transpose(xpad, [3, 1, 2, 0]) as tfjs.Tensor4D, tf.transpose(dy, [1, 2, 0, 3]) as tfjs.Tensor4D, 1, 'valid');
        return [dx, tf.transpose(corr, [1, 2, 0, 3])];
      },
    };
  }) as (x: tfjs.Tensor4D, w: tfjs.Tensor4D) => tfjs.Tensor4D;

  const upsample = (t: tfjs.Tensor4D): tfjs.Tensor4D => tf.image.resizeNearestNeighbor(t, [t.shape[1] * 2, t.shape[2] * 2]);
  const poolRelu = tf.customGrad((...args) => {
    const [x, save] = args as [tfjs.Tensor4D, tfjs.GradSaveFunc];
    const pooled = tf.maxPool(x, 2, 2, 'valid');
    save([x, pooled]);
    return {
      value: tf.relu(pooled),
      gradFunc: (dy: tfjs.Tensor4D, [sx, sp]: tfjs.Tensor[]) => {
        const p = sp as tfjs.Tensor4D;
        // Ties share dy; after a ReLU they are almost always zeros, whose ReLU gradient is zero anyway.
        const atMax = tf.cast(tf.equal(sx, upsample(p)), 'float32');
        return tf.mul(upsample(tf.mul(dy, tf.step(p))), atMax);
      },
    };
  }) as (x: tfjs.Tensor4D) => tfjs.Tensor4D;

  const softmaxCrossEntropy = tf.customGrad((...args) => {
    const [logits, target, save] = args as [tfjs.Tensor2D, tfjs.Tensor2D, tfjs.GradSaveFunc];
    const shifted = tf.sub(logits, tf.max(logits, 1, true));
    const exp = tf.exp(shifted);
    const total = tf.sum(exp, 1, true);
    save([exp, total, target]);
    // Σ_k target_k · (log Σ exp − shifted_k): zero for an all-zero target.
    const perExample = tf.sum(tf.mul(target, tf.sub(tf.log(total), shifted)), 1);
    return {
      value: perExample as tfjs.Tensor1D,
      gradFunc: (dy: tfjs.Tensor1D, [e, t, y]: tfjs.Tensor[]) => [
        tf.mul(tf.sub(tf.div(e, t), y), tf.reshape(dy, [-1, 1])),
        tf.zerosLike(y),
      ],
    };
  }) as (logits: tfjs.Tensor2D, target: tfjs.Tensor2D) => tfjs.Tensor1D;

  return { matMul, conv3x3, poolRelu, softmaxCrossEntropy };
}

/**
 * The patches of a 3×3 "same" convolution for examples `order[start..end)` of `data` ([count, h, w, c],
 * HWC per example), written as `cols` ([rows, 9c + 1], row = (example, y, x), column = (tap, channel),
 * then a constant 1) and, when given, its transpose `colsT` ([9c + 1, rows]). The first layer needs no
 * gradient for its input, so its patches are cut here in plain JS instead of by kernels; the transposed
 * copy spares a Transpose kernel in the filter gradient, and the column of ones folds the bias into the
 * matmul (its gradient would otherwise be a slow column Sum).
 */
export function im2col(
  data: Float32Array,
  geometry: { height: number; width: number; channels: number },
  order: ArrayLike<number>,
  start: number,
  end: number,
  cols: Float32Array,
  colsT?: Float32Array,
): void {
  const { height: h, width: w, channels: c } = geometry;
  const size = h * w * c;
  const k = 9 * c + 1;
  const rows = (end - start) * h * w;
  for (let b = 0; b < end - start; b++) {
    const base = order[start + b] * size;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const row = (b * h + y) * w + x;
        for (let tap = 0; tap < 9; tap++) {
          const sy = y + Math.floor(tap / 3) - 1;
          const sx = x + (tap % 3) - 1;
          const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          const src = base + (sy * w + sx) * c;
          for (let ch = 0; ch < c; ch++) {
            const v = inside ? data[src + ch] : 0;
            cols[row * k + tap * c + ch] = v;
            if (colsT) colsT[(tap * c + ch) * rows + row] = v;
          }
        }
        cols[row * k + k - 1] = 1;
        if (colsT) colsT[(k - 1) * rows + row] = 1;
      }
    }
  }
}
