import { loadTf } from './common.mjs';
const tf = await loadTf();
const N = Number(process.argv[2] ?? 64), S = Number(process.argv[3] ?? 8);
const C1 = 16, C2 = 32;
const x = tf.randomUniform([N, S, S, 1]);
const P2 = S / 2 >= 8 ? 2 : 1; const S2 = S / 2 / P2; const flat = S2 * S2 * C2;
const w1 = tf.variable(tf.randomNormal([3, 3, 1, C1], 0, 0.3)); const b1 = tf.variable(tf.zeros([C1]));
const w2 = tf.variable(tf.randomNormal([3, 3, C1, C2], 0, 0.1)); const b2 = tf.variable(tf.zeros([C2]));
const w3 = tf.variable(tf.randomNormal([flat, 10], 0, 0.05)); const b3 = tf.variable(tf.zeros([10]));
const vars = [w1, b1, w2, b2, w3, b3];
const labels = tf.oneHot(tf.randomUniform([N], 0, 10, 'int32'), 10);
const mm = tf.customGrad((a, b, save) => { save([a, b]); return { value: tf.matMul(a, b), gradFunc: (dy, [a, b]) => [tf.matMul(dy, tf.transpose(b)), tf.matMul(tf.transpose(a), dy)] }; });
const conv = tf.customGrad((x, w, save) => { save([x, w]); return { value: tf.conv2d(x, w, 1, 'same'), gradFunc: (dy, [x, w]) => {
  const dx = tf.conv2d(dy, tf.reverse(tf.transpose(w, [0, 1, 3, 2]), [0, 1]), 1, 'same');
  const xp = tf.pad(x, [[0,0],[1,1],[1,1],[0,0]]);
  const dw = tf.transpose(tf.conv2d(tf.transpose(xp, [3,1,2,0]), tf.transpose(dy, [1,2,0,3]), 1, 'valid'), [1,2,0,3]);
  return [dx, dw]; } }; });
const f = () => { let h = tf.relu(tf.add(conv(x, w1), b1)); h = tf.maxPool(h, 2, 2, 'valid'); h = tf.relu(tf.add(conv(h, w2), b2)); if (P2 === 2) h = tf.maxPool(h, 2, 2, 'valid'); h = tf.reshape(h, [N, flat]); return tf.losses.softmaxCrossEntropy(labels, tf.add(mm(h, w3), b3)); };
const step = () => tf.tidy(() => { const { grads } = tf.variableGrads(f, vars); for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01))); });
for (let i = 0; i < 3; i++) step();
const agg = new Map();
for (let r = 0; r < 20; r++) { const info = await tf.profile(step); for (const k of info.kernels) { const key = k.name + ' ' + JSON.stringify(k.inputShapes); const a = agg.get(key) ?? [0,0]; a[0] += k.kernelTimeMs; a[1]++; agg.set(key, a); } }
const rows = [...agg].sort((a,b)=>b[1][0]-a[1][0]); let tot = 0; for (const [,v] of rows) tot += v[0];
console.log('total kernel ms/step', (tot/20).toFixed(2), 'kernels/step', rows.reduce((s,[,v])=>s+v[1],0)/20);
for (const [k,v] of rows.slice(0,25)) console.log((v[0]/20).toFixed(3), k);
