/**
 * Loads TensorFlow.js on the wasm backend, once per process. Trainers import TF.js only through here so
 * the backend choice, the wasm file location and the quiet start live in one place; predictors that can
 * run in plain JS never pay for loading it.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

export type Tf = typeof import('@tensorflow/tfjs');

let loading: Promise<Tf> | undefined;

/**
 * Resolves to the TF.js namespace with the `wasm` backend active. Safe to call any number of times: every
 * call shares the first one's promise (a failed load is forgotten so a later call may retry).
 */
export function initTf(): Promise<Tf> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

async function load(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // PROD mode turns off backend_util.warn, which is how TF.js prints its "Hi, looks like you are running
  // TensorFlow.js in Node.js" banner, and skips debug-only checks we never want in a trainer.
  tf.env().set('PROD', true);
  // The threaded build needs worker files that Node cannot start (ERR_WORKER_PATH); TF.js already reports
  // no thread support under Node, but say so explicitly so the single-threaded SIMD build is always used.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (tf.getBackend() !== 'wasm') {
    if (tf.findBackendFactory('wasm') === null) throw new Error('the TF.js wasm backend did not register');
    // A filesystem folder, not a URL: in Node the emscripten loader reads the .wasm with fs. Resolving
    // from this file works both from dist/ and from the TypeScript sources under vitest.
    const require = createRequire(import.meta.url);
    const distDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    try {
      wasm.setWasmPaths(distDir + sep);
    } catch {
      // Already initialised by an earlier load in this process: the paths were set then.
    }
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error(`the TF.js wasm backend failed to initialise from ${distDir}`);
  }
  await tf.ready();
  return tf;
}

/**
 * Reads a float32 tensor's values and disposes it. Call it outside tf.tidy() on the tensor tidy returned:
 * tidy walks a returned typed array element by element looking for tensors (measured: 3 ms for 16k floats).
 */
export function takeValues(t: import('@tensorflow/tfjs').Tensor): Float32Array {
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}
