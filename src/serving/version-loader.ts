/**
 * Loading one version for serving: manifest.json read and checked, every listed artifact hashed against
 * it, the digest recomputed (and compared with reactor's when known), the trainer module's predictor
 * loaded, then one probe prediction. Any failure is a ServingLoadFailed (422) naming the step and the
 * version; the version then never receives traffic.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ServingLoadFailed, TrinityError } from '../errors.js';
import type { ModelType } from '../model-types.js';
import { MANIFEST_NAME, digestOf, isVersion, type ManifestFile } from '../registry/index.js';
import { getTrainerModule, type Predictor } from '../models/index.js';
import { probeFor } from './probes.js';
import type { ServingLogger } from './types.js';

/** A version that passed every check, with what was checked. */
export interface VerifiedPredictor {
  predictor: Predictor;
  digest: string;
  /** Set when the default probe did not fit the model's input shape (see Probe.strict). */
  probeNote?: string;
}

class LoadStepFailed extends Error {}

function fail(reason: string): never {
  throw new LoadStepFailed(reason);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function readManifest(dir: string, modelType: ModelType, version: string): Promise<Record<string, unknown>> {
  const text = await readFile(join(dir, MANIFEST_NAME), 'utf8').catch((err: NodeJS.ErrnoException) =>
    fail(err.code === 'ENOENT' ? `${MANIFEST_NAME} not found in ${dir} (is the version registered on this machine?)` : `${MANIFEST_NAME}: ${err.message}`),
  );
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (err) {
    fail(`${MANIFEST_NAME} is not JSON (${(err as Error).message})`);
  }
  if (!isObject(manifest)) fail(`${MANIFEST_NAME} is not an object`);
  if (manifest.model_type !== modelType) fail(`${MANIFEST_NAME} says model_type ${JSON.stringify(manifest.model_type)}, not ${modelType}`);
  if (manifest.version !== version) fail(`${MANIFEST_NAME} says version ${JSON.stringify(manifest.version)}, not ${version}`);
  if (typeof manifest.digest !== 'string') fail(`${MANIFEST_NAME} has no digest`);
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) fail(`${MANIFEST_NAME} lists no files`);
  return manifest;
}

/** Hashes every file the manifest lists and returns them as they are on disk. */
async function hashListedFiles(dir: string, listed: readonly unknown[]): Promise<ManifestFile[]> {
  const root = resolve(dir) + sep;
  const out: ManifestFile[] = [];
  for (const f of listed) {
    if (!isObject(f) || typeof f.path !== 'string' || typeof f.sha256 !== 'string' || typeof f.bytes !== 'number') {
      fail(`${MANIFEST_NAME} has a file entry that is not {path, bytes, sha256}`);
    }
    const path = resolve(dir, f.path);
    // The manifest is data on disk: a path leaving the version folder is refused, never read.
    if (!path.startsWith(root) || f.path === MANIFEST_NAME) fail(`${MANIFEST_NAME} lists ${JSON.stringify(f.path)}, outside the version's artifacts`);
    const st = await lstat(path).catch(() => fail(`${f.path}: missing`));
    if (!st.isFile()) fail(`${f.path}: not a regular file`);
    const content = await readFile(path);
    const sha256 = createHash('sha256').update(content).digest('hex');
    if (content.length !== f.bytes) fail(`${f.path}: ${content.length} bytes, the manifest says ${f.bytes}`);
    if (sha256 !== f.sha256) fail(`${f.path}: sha256 differs from the manifest (corrupt or modified artifact)`);
    out.push({ path: f.path, bytes: content.length, sha256 });
  }
  return out;
}

/** Runs the probe; returns a note when a non-strict default probe was refused as bad input. */
function runProbe(predictor: Predictor, modelType: ModelType, manifestProbe: unknown): string | undefined {
  const probe = probeFor(modelType, manifestProbe);
  let result: unknown;
  try {
    result = predictor.predict(probe.input);
  } catch (err) {
    const badInput = err instanceof TrinityError && err.statusCode >= 400 && err.statusCode < 500;
    if (badInput && !probe.strict) return `default probe input did not fit this model (${err.message}); add probe_input to the manifest`;
    fail(`probe prediction failed: ${(err as Error).message}`);
  }
  if (!isObject(result)) fail('probe prediction returned no object');
  return undefined;
}

/**
 * Verifies and loads `<modelsDir>/<modelType>/<version>/`, then warms it with a probe prediction.
 * `expectedDigest`: the digest reactor's registry recorded, when known.
 */
export async function loadVerifiedPredictor(
  modelsDir: string,
  modelType: ModelType,
  version: string,
  expectedDigest: string | undefined,
  logger?: ServingLogger,
): Promise<VerifiedPredictor> {
  let predictor: Predictor | undefined;
  try {
    // Both parts are checked before any path is built from them (request data reaches this function).
    if (!isVersion(version)) fail(`${JSON.stringify(version)} is not a version like v1.2.3`);
    const module = getTrainerModule(modelType);
    const dir = join(modelsDir, modelType, version);
    const manifest = await readManifest(dir, modelType, version);
    const digest = manifest.digest as string;
    const files = await hashListedFiles(dir, manifest.files as unknown[]);
    if (digestOf(files) !== digest) fail(`${MANIFEST_NAME} digest ${digest} does not match its file list`);
    if (expectedDigest !== undefined && expectedDigest !== digest) fail(`digest ${digest} differs from the registry's ${expectedDigest}`);
    predictor = await module.loadPredictor(dir);
    const probeNote = runProbe(predictor, modelType, manifest.probe_input);
    if (probeNote) logger?.info({ model_type: modelType, version }, probeNote);
    return { predictor, digest, probeNote };
  } catch (err) {
    predictor?.dispose();
    const reason = err instanceof LoadStepFailed || err instanceof TrinityError ? err.message : `loading failed: ${(err as Error).message}`;
    throw ServingLoadFailed.with({ version, details: reason, cause: err }, modelType, version, reason);
  }
}
