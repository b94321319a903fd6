/**
 * One registration at a time per model type folder, across every ModelRegistry in this process: picking
 * "the next version" and renaming into it must not interleave. Other processes are kept apart by the
 * rename (it fails on an existing version folder) and by the database's unique keys.
 */
const tails = new Map<string, Promise<unknown>>();

export async function withFolderLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(fn);
  // The tail never rejects, so one failed registration does not fail the ones queued behind it.
  const tail = run.catch(() => undefined);
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}
