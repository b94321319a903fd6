/**
 * What must hold after every crash and at the end of a run: nothing acknowledged lost or stored twice,
 * every checkpoint and model version readable and intact, no job or deployment left hanging.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../src/store/database.js';
import { unpackArrays, type ArrayEntry } from '../src/models/kernels/array-file.js';
import { verifyFolder } from '../src/registry/verify.js';
import { parseManifest } from '../src/registry/manifest.js';
import type { Ledger } from './experiences.js';

export interface ExperienceCount {
  lost: number;
  duplicated: number;
  /** A few lost nonces with their path, for the report. */
  lostExamples: string[];
}

/** Compares the ledger's acknowledged nonces with what reactor stored (read-only, straight from its database). */
export function countExperiences(home: string, ledger: Ledger): ExperienceCount {
  const db = openDatabase({ path: join(home, 'trinity.db'), readonly: true });
  try {
    const rows = db
      .prepare("SELECT json_extract(body, '$.metadata.soak_nonce') AS nonce, COUNT(*) AS n FROM experiences WHERE nonce IS NOT NULL GROUP BY nonce")
      .all() as { nonce: string; n: number }[];
    const stored = new Map(rows.map((r) => [r.nonce, r.n]));
    let lost = 0;
    const lostExamples: string[] = [];
    for (const [nonce, path] of ledger.acked) {
      if (stored.has(nonce)) continue;
      lost++;
      if (lostExamples.length < 5) lostExamples.push(`${nonce} (${path})`);
    }
    return { lost, duplicated: rows.filter((r) => r.n > 1).length, lostExamples };
  } finally {
    db.close();
  }
}

export interface FileProblem {
  path: string;
  problem: string;
}

const CHECKPOINT = /^epoch-\d{6}$/;

/** Every published checkpoint (`<job>/epoch-NNNNNN/`) must have its metadata and a complete state file. */
export function checkCheckpoints(checkpointsRoot: string): { checked: number; problems: FileProblem[] } {
  const problems: FileProblem[] = [];
  let checked = 0;
  if (!existsSync(checkpointsRoot)) return { checked, problems };
  for (const job of readdirSync(checkpointsRoot, { withFileTypes: true })) {
    if (!job.isDirectory()) continue;
    const jobDir = join(checkpointsRoot, job.name);
    for (const name of readdirSync(jobDir)) {
      if (!CHECKPOINT.test(name)) continue;
      const dir = join(jobDir, name);
      checked++;
      const problem = checkpointProblem(dir);
      if (problem) problems.push({ path: dir, problem });
    }
  }
  return { checked, problems };
}

function checkpointProblem(dir: string): string | null {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { epoch?: unknown; rng?: unknown; job_id?: unknown };
    if (!Number.isInteger(meta.epoch) || !Array.isArray(meta.rng) || meta.rng.length !== 4 || typeof meta.job_id !== 'string') {
      return 'checkpoint.json lacks epoch, rng or job_id';
    }
    // Trainers keep their state as state.json (array table) + state.bin; every array must lie inside the file.
    if (!existsSync(join(dir, 'state.json'))) return null;
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { arrays?: ArrayEntry[] };
    if (!Array.isArray(state.arrays)) return 'state.json has no array table';
    unpackArrays(new Uint8Array(readFileSync(join(dir, 'state.bin'))), state.arrays);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Every registered version folder must match its manifest's digest and file list. */
export async function checkModelVersions(modelsRoot: string): Promise<{ checked: number; problems: FileProblem[] }> {
  const problems: FileProblem[] = [];
  let checked = 0;
  if (!existsSync(modelsRoot)) return { checked, problems };
  for (const type of readdirSync(modelsRoot, { withFileTypes: true })) {
    if (!type.isDirectory()) continue;
    for (const version of readdirSync(join(modelsRoot, type.name), { withFileTypes: true })) {
      // Staging folders are dot-named; only published versions count.
      if (!version.isDirectory() || version.name.startsWith('.')) continue;
      const dir = join(modelsRoot, type.name, version.name);
      checked++;
      const text = existsSync(join(dir, 'manifest.json')) ? readFileSync(join(dir, 'manifest.json'), 'utf8') : null;
      const manifest = text === null ? 'manifest.json is missing' : parseManifest(text);
      if (typeof manifest === 'string') {
        problems.push({ path: dir, problem: manifest });
        continue;
      }
      const result = await verifyFolder(dir, manifest);
      if (!result.ok) problems.push({ path: dir, problem: result.problems.join('; ') });
    }
  }
  return { checked, problems };
}

/** Files still waiting in the events folder (not dot-files, not the rejected folder). */
export function pendingEventFiles(eventsDir: string): string[] {
  if (!existsSync(eventsDir)) return [];
  return readdirSync(eventsDir, { withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.') && !d.name.endsWith('.tmp'))
    .map((d) => d.name);
}

/** Files quarantined in rejected/ (the soak sends only good files, so each one is a finding). */
export function rejectedFiles(eventsDir: string): string[] {
  const dir = join(eventsDir, 'rejected');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => !n.endsWith('.error.json'));
}
