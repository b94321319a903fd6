/**
 * Waits until reactor has taken experience files jarvis forwarded. Reactor deletes a file from
 * trinity/events/ only after its experiences are committed (or moves it to rejected/), so once a file is
 * gone its experiences are in reactor's stats. That is a surer signal than re-asking the stats while they
 * lag behind what was forwarded: duplicates and unusable experiences never show up there, so "fewer than
 * forwarded" cannot tell "still ingesting" from "done". Bounded: a reactor that is down (or watches another
 * folder) leaves the files in place, and the wait ends after `timeoutMs` anyway.
 */
import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often the files are looked at. A stat per file: cheap next to an ingest. */
export const INGEST_POLL_MS = 200;
/** Longest wait for reactor to take forwarded files; ingesting a batch takes well under a second. */
export const INGEST_WAIT_MS = 30_000;

export interface IngestWaitOptions {
  /** Ms between looks. Default INGEST_POLL_MS. */
  pollMs?: number;
  /** Ms after which the wait ends with files still there. Default INGEST_WAIT_MS. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const exists = (path: string) => access(path).then(
  () => true,
  () => false,
);

/** Resolves with the paths still present: [] once reactor took them all, the rest on timeout or abort. */
export async function waitUntilIngested(paths: readonly string[], o: IngestWaitOptions = {}): Promise<string[]> {
  const deadline = Date.now() + (o.timeoutMs ?? INGEST_WAIT_MS);
  let left = [...paths];
  for (;;) {
    const present = await Promise.all(left.map(exists));
    left = left.filter((_, i) => present[i]);
    if (left.length === 0 || Date.now() >= deadline || o.signal?.aborted) return left;
    await sleep(o.pollMs ?? INGEST_POLL_MS, undefined, { signal: o.signal }).catch(() => undefined);
  }
}
