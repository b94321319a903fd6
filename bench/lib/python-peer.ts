/**
 * Runs a peer written in Python (scikit-learn, PyTorch from Debian's python3-sklearn / python3-torch) on
 * the same data in the same run. Installs the Debian package when missing and says plainly when it cannot.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackage } from './debian.js';

const PYTHON = '/usr/bin/python3';
const installed = new Map<string, boolean>();

function hasModule(module: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

/** Ensures `import module` works, installing `debPackage` with apt-get if needed. Returns why not, or null. */
export function ensurePythonModule(module: string, debPackage: string): string | null {
  if (installed.get(module)) return null;
  const missing = ensureDebianPackage(debPackage, () => hasModule(module), 'the peer measurement');
  if (missing !== null) return `${missing}; the peer column stays empty`;
  installed.set(module, true);
  return null;
}

/** Runs bench/peers/<script> with args and parses the JSON object it prints last. */
export function runPythonPeer<T>(script: string, args: string[]): T {
  const path = fileURLToPath(new URL(`../../../bench/peers/${script}`, import.meta.url));
  const out = execFileSync(PYTHON, [path, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, OMP_NUM_THREADS: '2' } });
  const last = out.trim().split('\n').at(-1)!;
  return JSON.parse(last) as T;
}
