/**
 * The vision model as a portable ONNX graph (onnx-export.ts): a batch of preprocessed images in (NHWC,
 * values in [0, 1]), label probabilities out. The network is the training forward pass itself
 * (cnnForward), fed by patches the graph cuts from the pixels (patchesFromPixels) instead of JS, with
 * the parameters stored as one flat initializer; J-Prime's TF.js forward pass computes the same network.
 */
import { GraphBuilder } from '../graph/builder.js';
import { cnnForward, cnnParamSizes, patchesFromPixels } from '../graph/cnn-graphs.js';
import { softmax } from '../graph/ops.js';
import { CLASSIFIER_DECISION, classifierOutputs, PortableGraph, type OnnxDescription } from '../kernels/onnx-export.js';
import { layoutOf, type VisionModel } from './files.js';
import type { VisionGeometry } from './input.js';

function featurisation(geo: VisionGeometry): Record<string, unknown> {
  return {
    kind: 'image',
    reference: 'src/models/vision/input.ts (toModelInput), src/models/image (decode.ts, resize.ts)',
    layout: 'NHWC, row-major, float32',
    width: geo.width,
    height: geo.height,
    channels: geo.channels,
    pixel_scale: geo.pixelScale,
    steps: [
      'input.image (base64 PNG or JPEG) decodes to 8-bit RGBA; alpha is composited over white (round((c·a + 255·(255 − a)) / 255)); if every pixel has max − min of its R, G, B ≤ 3 the image is grey with value round((R + G + B) / 3), else RGB',
      `values are divided by 255 for input.image, by pixel_scale (${geo.pixelScale}, the largest training pixel value) for input.pixels (HWC, with width and height)`,
      geo.channels === 1 ? 'an RGB input becomes grey: 0.299·R + 0.587·G + 0.114·B' : 'a grey input becomes RGB by repeating its value in all three channels',
      `resized to ${geo.width}×${geo.height}, one axis at a time (along x, then along y): shrinking averages the source pixels each output pixel covers, weighted by overlap (area resampling); enlarging interpolates linearly between pixel centres (source x = (o + 0.5)·in/out − 0.5, clamped to the edges; align_corners false); the same size is left as it is`,
    ],
  };
}

export function buildVisionOnnx(model: VisionModel): { bytes: Uint8Array; description: OnnxDescription } {
  const layout = layoutOf(model);
  const { width, height, channels } = model.geometry;
  const p = new PortableGraph(new GraphBuilder('trinity_vision'));
  const g = p.g;
  g.meta('model_type', 'vision');
  const pixels = p.input({
    name: 'pixels',
    dtype: 'float32',
    shape: ['batch', height, width, channels],
    description: `Preprocessed images, NHWC: each resized to ${width}×${height} with ${channels} channel(s), values in [0, 1] (featurisation in onnx.json / the manifest).`,
  });
  const flat = g.node('Reshape', [pixels, g.ints([-1, height * width * channels])]);
  const total = cnnParamSizes(layout).reduce((a, b) => a + b, 0);
  const f = cnnForward(g, layout, { patches: patchesFromPixels(g, layout, flat), params: g.initializer('params', model.params, [total]) });
  softmax(g, f.logits, -1, 'probabilities');
  classifierOutputs(p, 'batch', model.labels);
  return { bytes: g.encode(), description: p.describe({ labels: model.labels, decision: { ...CLASSIFIER_DECISION }, featurisation: featurisation(model.geometry) }) };
}
