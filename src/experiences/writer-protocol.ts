/** Messages between ExperienceWriter and its thread: plain values only. */
import type { ExperienceRow } from './experiences-store.js';
import type { InsertCounts } from './types.js';

export interface WriterSetup {
  path: string;
  minQuality: number;
}

/** A batch to insert in one transaction, or 'close' (the thread closes its connection and ends). */
export type WriterRequest = { id: number; rows: ExperienceRow[]; file: Record<string, unknown> | null; carried: InsertCounts } | 'close';

/** `code`: the storage-trouble code (SQLITE_FULL, ENOSPC…) so the caller answers 507/503, else null. */
export type WriterReply = { id: number; counts: InsertCounts } | { id: number; error: { message: string; code: string | null } };
