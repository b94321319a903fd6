import { loadTf } from './common.mjs';
const tf = await loadTf();
const N = Number(process.argv[2] ?? 64), H = 8, mode = process.argv[3] ?? 'slices';
const x = tf.randomUniform([N, H, H, 1]);
const w1 = tf.variable(tf.randomNormal([3, 3, 1, 16], 0, 0.3));
const w2 = tf.variable(tf.randomNormal([3, 3, 16, 32], 0, 0.1));
const w3 = tf.variable(tf.randomNormal([512, 10], 0, 0.05));
const labels = tf.oneHot(tf.randomUniform([N], 0, 10, 'int32'), 10);
function convSlices(inp, w) { // inp [N,h,w,c], 3x3 same
  const [n, h, ww, c] = inp.shape; const p = tf.pad(inp, [[0,0],[1,1],[1,1],[0,0]]);
  const parts = []; for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) parts.push(tf.slice(p, [0, dy, dx, 0], [n, h, ww, c]));
  const cols = tf.reshape(tf.concat(parts, 3), [n * h * ww, 9 * c]);
  return tf.reshape(tf.matMul(cols, tf.reshape(w, [9 * c, w.shape[3]])), [n, h, ww, w.shape[3]]);
}
function conv3d(inp, w) { const [n,h,ww,c] = inp.shape; return tf.reshape(tf.conv3d(tf.reshape(inp,[n,1,h,ww,c]), tf.reshape(w,[1,3,3,c,w.shape[3]]), 1, 'same'), [n,h,ww,w.shape[3]]); }
const conv = mode === 'slices' ? convSlices : conv3d;
const f = () => { let h = tf.relu(conv(x, w1)); h = tf.maxPool(h, 2, 2, 'valid'); h = tf.relu(conv(h, w2)); h = tf.reshape(h, [N, 512]); return tf.losses.softmaxCrossEntropy(labels, tf.matMul(h, w3)); };
const step = () => tf.tidy(() => { const { grads } = tf.variableGrads(f, [w1, w2, w3]); for (const [k, g] of Object.entries(grads)) { const v = [w1,w2,w3].find(q=>q.name===k); v.assign(tf.sub(v, tf.mul(g, 0.01))); } });
for (let i = 0; i < 5; i++) step();
const steps = Math.ceil(3823 / N); const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
await w1.data(); const s = (performance.now() - t0) / 1000;
console.log(mode, 'batch', N, 'epoch s', s.toFixed(3), 'samples/s', Math.round(steps * N / s), 'tensors', tf.memory().numTensors);
