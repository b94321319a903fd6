/**
 * Installs a Debian package a measurement needs when it is missing (a Python peer's module, the wrk load
 * generator), and says plainly why not when it cannot.
 */
import { spawnSync } from 'node:child_process';

const APT_TIMEOUT_MS = 600_000;

/** Ensures `isPresent()` holds, installing `debPackage` with apt-get if needed. Returns why not, or null. */
export function ensureDebianPackage(debPackage: string, isPresent: () => boolean, purpose: string): string | null {
  if (isPresent()) return null;
  if (process.getuid?.() !== 0) return `${debPackage} is not installed and this user cannot apt-get install it (run: sudo apt-get install ${debPackage})`;
  console.log(`  installing ${debPackage} for ${purpose}…`);
  const r = spawnSync('apt-get', ['install', '-y', '-q', debPackage], { stdio: 'ignore', timeout: APT_TIMEOUT_MS });
  if (r.status !== 0) spawnSync('sh', ['-c', `apt-get update -q >/dev/null && apt-get install -y -q ${debPackage}`], { stdio: 'ignore', timeout: APT_TIMEOUT_MS });
  return isPresent() ? null : `could not install ${debPackage} (apt-get failed)`;
}
