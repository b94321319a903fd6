/**
 * Dependencies point one way (issues 15 and 16): src/store is the bottom (the connection and migrations)
 * and imports no other folder; model code (src/models) knows nothing of jobs; serving and experiences take
 * model code from src/models, never from the job runner in src/training.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/processes.js';

const SRC = join(ROOT, 'src');
/** Shared leaves every folder may use: the error catalogue, the model type list, small utilities. */
const LEAVES = ['errors', 'model-types', 'version', 'util'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The src folders (first path part under src/) that `folder`'s files import, with one example each. */
function importedFolders(folder: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sourceFiles(join(SRC, folder))) {
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = relative(SRC, resolve(dirname(file), spec));
      const top = target.split('/')[0].replace(/\.js$/, '');
      if (top === folder || LEAVES.includes(top)) continue;
      if (!found.has(top)) found.set(top, `${relative(ROOT, file)} imports ${spec}`);
    }
  }
  return found;
}

describe('the layering of src/', () => {
  it('src/store imports no other folder', () => {
    expect([...importedFolders('store').values()]).toEqual([]);
  });

  it('src/models imports neither the job runner nor any service', () => {
    const allowed = new Set<string>();
    expect([...importedFolders('models')].filter(([top]) => !allowed.has(top)).map(([, why]) => why)).toEqual([]);
  });

  it.each(['serving', 'experiences', 'prime'])('src/%s takes model code from src/models, never from src/training', (folder) => {
    expect(importedFolders(folder).get('training')).toBeUndefined();
  });
});
