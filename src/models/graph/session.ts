/**
 * Opening an onnxruntime CPU session on a graph built in memory, with the thread settings Trinity's
 * trainers choose per model type (decisions.md has the measurements).
 */
import * as ort from 'onnxruntime-node';

export interface SessionSettings {
  /** Threads inside one operator (GEMM splits its output across them). */
  threads: number;
  /**
   * Whether idle intra-op threads spin waiting for work. Spinning saves wake-up latency on an idle machine
   * and burns a core on a shared one; off by default (the machines Trinity runs on are shared).
   */
  spin?: boolean;
}

/** A CPU session on `model` (ONNX bytes), sequential, all graph optimisations on. */
export function openSession(model: Uint8Array, s: SessionSettings): Promise<ort.InferenceSession> {
  if (!Number.isInteger(s.threads) || s.threads < 1) throw new RangeError(`threads must be a positive integer, got ${String(s.threads)}`);
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: s.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: s.spin ? '1' : '0' } } },
  });
}

/** A float32 tensor over `data` (not copied). */
export const floatTensor = (data: Float32Array, dims: readonly number[]): ort.Tensor => new ort.Tensor('float32', data, dims);
