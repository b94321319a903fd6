/**
 * The recent predictions feedback can refer to: prediction id → the counters of the version that served
 * it, and the feedback already counted. A ring of the last `capacity` predictions in typed arrays, found
 * through an open-addressing index on the id's first 32 bits: O(1) per prediction and per lookup, and
 * nothing kept per prediction on the JS heap. (A Map of the last 100 000 id strings cost the garbage
 * collector all those keys, and deleting its oldest entry walked the holes earlier deletions had left at
 * its front: tens of microseconds per prediction once full.) About 30 bytes an entry, 3 MB at 100 000.
 *
 * Ids are random version-4 UUIDs, drawn from the crypto generator in batches.
 */
import { randomFillSync } from 'node:crypto';
import type { VersionCounters } from './counters.js';

/** Ids drawn from the crypto generator at a time (4 words each). */
const IDS_PER_DRAW = 256;
const NO_FEEDBACK = 0;
const FEEDBACK_SUCCESS = 1;
const FEEDBACK_FAILURE = 2;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
/** Lower-case hex digit → value, -1 for anything else (ids are compared as issued, lower case). */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let d = 0; d < 16; d++) HEX_VALUE[d.toString(16).charCodeAt(0)] = d;
/** Where the dashes of an id go: 8-4-4-4-12. */
const DASHES = [8, 13, 18, 23];
const ID_LENGTH = 36;

const hex16 = (w: number) => HEX[(w >>> 8) & 255] + HEX[w & 255];
const hex32 = (w: number) => hex16(w >>> 16) + hex16(w);

/** The index size for `capacity` entries: a power of two at least twice as large, so probes stay short. */
function indexSize(capacity: number): number {
  let size = 2;
  while (size < 2 * capacity) size *= 2;
  return size;
}

/** What a lookup found: the version that served, and the feedback counted before this call (if any). */
export interface FeedbackClaim {
  readonly counters: VersionCounters;
  readonly earlier: boolean | undefined;
}

export class PredictionLog {
  /** 4 words per slot: the id's 128 bits. */
  private readonly ids: Uint32Array;
  /** Per slot: the index in `versions` of the version that served. */
  private readonly servedBy: Int32Array;
  private readonly feedback: Uint8Array;
  /** Slot + 1 per position, 0 for empty; linear probing from the id's first word. */
  private readonly index: Int32Array;
  private readonly mask: number;
  private readonly versions: VersionCounters[] = [];
  private readonly versionIndex = new Map<VersionCounters, number>();
  private lastCounters: VersionCounters | null = null;
  private lastNumber = -1;
  private readonly pool = new Uint32Array(4 * IDS_PER_DRAW);
  private poolAt = this.pool.length;
  /** The slot the next prediction takes (the oldest once the ring is full). */
  private next = 0;
  private count = 0;
  private readonly parsed = new Uint32Array(4);

  constructor(readonly capacity: number) {
    this.ids = new Uint32Array(4 * capacity);
    this.servedBy = new Int32Array(capacity);
    this.feedback = new Uint8Array(capacity);
    this.index = new Int32Array(indexSize(capacity));
    this.mask = this.index.length - 1;
  }

  /** Remembers a prediction served by `counters`' version, forgetting the oldest when full; returns its new id. */
  add(counters: VersionCounters): string {
    if (this.poolAt === this.pool.length) {
      randomFillSync(this.pool);
      this.poolAt = 0;
    }
    const p = this.pool;
    const at = this.poolAt;
    this.poolAt += 4;
    const w0 = p[at];
    const w1 = ((p[at + 1] & 0xffff0fff) | 0x4000) >>> 0; // version 4
    const w2 = ((p[at + 2] & 0x3fffffff) | 0x80000000) >>> 0; // variant 10
    const w3 = p[at + 3];

    const slot = this.next;
    if (this.count === this.capacity) this.unindex(slot);
    else this.count++;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    const ids = this.ids;
    ids[4 * slot] = w0;
    ids[4 * slot + 1] = w1;
    ids[4 * slot + 2] = w2;
    ids[4 * slot + 3] = w3;
    this.servedBy[slot] = this.versionNumber(counters);
    this.feedback[slot] = NO_FEEDBACK;
    let pos = w0 & this.mask;
    while (this.index[pos] !== 0) pos = (pos + 1) & this.mask;
    this.index[pos] = slot + 1;
    return `${hex32(w0)}-${hex16(w1 >>> 16)}-${hex16(w1)}-${hex16(w2 >>> 16)}-${hex16(w2)}${hex32(w3)}`;
  }

  /**
   * Looks a prediction up and, when it has no feedback yet, records `success` as its feedback. Undefined
   * for an id never issued or already forgotten.
   */
  claimFeedback(predictionId: string, success: boolean): FeedbackClaim | undefined {
    const slot = this.find(predictionId);
    if (slot < 0) return undefined;
    const counters = this.versions[this.servedBy[slot]];
    const f = this.feedback[slot];
    if (f !== NO_FEEDBACK) return { counters, earlier: f === FEEDBACK_SUCCESS };
    this.feedback[slot] = success ? FEEDBACK_SUCCESS : FEEDBACK_FAILURE;
    return { counters, earlier: undefined };
  }

  get size(): number {
    return this.count;
  }

  private versionNumber(counters: VersionCounters): number {
    // Consecutive predictions are mostly served by the same version.
    if (counters === this.lastCounters) return this.lastNumber;
    let n = this.versionIndex.get(counters);
    if (n === undefined) {
      n = this.versions.push(counters) - 1;
      this.versionIndex.set(counters, n);
    }
    this.lastCounters = counters;
    this.lastNumber = n;
    return n;
  }

  /** The slot of an id, or -1. */
  private find(predictionId: string): number {
    if (!this.parse(predictionId)) return -1;
    const w = this.parsed;
    const ids = this.ids;
    const w0 = w[0];
    for (let pos = w0 & this.mask; this.index[pos] !== 0; pos = (pos + 1) & this.mask) {
      const slot = this.index[pos] - 1;
      const o = 4 * slot;
      if (ids[o] === w0 && ids[o + 1] === w[1] && ids[o + 2] === w[2] && ids[o + 3] === w[3]) return slot;
    }
    return -1;
  }

  /** Reads an id as issued (lower-case hex, 8-4-4-4-12) into `parsed`; false for anything else. */
  private parse(id: string): boolean {
    if (id.length !== ID_LENGTH) return false;
    const out = this.parsed;
    out.fill(0);
    let digit = 0;
    for (let i = 0; i < ID_LENGTH; i++) {
      const c = id.charCodeAt(i);
      if (DASHES.includes(i)) {
        if (c !== 0x2d) return false;
        continue;
      }
      const v = c < 128 ? HEX_VALUE[c] : -1;
      if (v < 0) return false;
      out[digit >>> 3] = out[digit >>> 3] * 16 + v;
      digit++;
    }
    return true;
  }

  /** Removes a slot's id from the index, shifting later entries of its probe run back (no tombstones). */
  private unindex(slot: number): void {
    const { index, mask, ids } = this;
    let i = ids[4 * slot] & mask;
    while (index[i] !== slot + 1) i = (i + 1) & mask;
    for (let j = i; ; ) {
      j = (j + 1) & mask;
      if (index[j] === 0) break;
      const home = ids[4 * (index[j] - 1)] & mask;
      // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      index[i] = index[j];
      i = j;
    }
    index[i] = 0;
  }
}
