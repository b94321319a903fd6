/**
 * Folders as answers and messages name them: under `$JARVIS_HOME` when they are inside it, else by the
 * setting that chose them. The host's own absolute paths (its user names, its layout) never leave it.
 */
import { isAbsolute, relative, resolve } from 'node:path';

/** True when `path` lies strictly inside `root` (both resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** `$JARVIS_HOME/training_checkpoints` for a folder inside the home, else `fallback` (e.g. `$TRAINING_CHECKPOINT_DIR`). */
export function homeRelativeName(dir: string, home: string, fallback: string): string {
  return isInside(home, dir) ? `$JARVIS_HOME/${relative(resolve(home), resolve(dir))}` : fallback;
}
