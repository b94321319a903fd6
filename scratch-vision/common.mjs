import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
export async function loadTf() {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  tf.env().set('PROD', true);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const require = createRequire(import.meta.url);
  wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + sep);
  await tf.setBackend('wasm'); await tf.ready();
  return tf;
}
export function readCsv(name) {
  const lines = readFileSync(`/work/shared/data/vision-optdigits/${name}.csv`, 'utf8').trim().split('\n').slice(1);
  const n = lines.length; const x = new Float32Array(n * 64); const y = new Int32Array(n);
  lines.forEach((l, i) => { const v = l.split(',').map(Number); for (let j = 0; j < 64; j++) x[i * 64 + j] = v[j] / 16; y[i] = v[64]; });
  return { n, x, y };
}
