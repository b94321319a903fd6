/**
 * The training lock `training_slot` (CONTRACT §6): a lease in the shared database with a TTL, at most
 * `capacity` (MAX_CONCURRENT_TRAINING_JOBS) live holders, and a fencing token that grows with every
 * grant. A holder renews its lease while its job lives. Each lease names the process that holds it: one
 * that has provably died (same host, its pid gone or now another process) loses the lease at the next look
 * at the lock; one on another host, which may be alive, loses it only when its TTL runs out.
 */
import { EventEmitter } from 'node:events';
import { CoordinatorInvalidOption } from '../errors.js';
import type { ClaimResult, CoordinatorStore, RecoveredJob } from './coordinator-store.js';
import { MAX_TIMER_MS } from './follow.js';
import { thisProcess, type ProcessIdentity } from '../util/process-identity.js';
import type { Lease } from './types.js';

export const TRAINING_SLOT = 'training_slot';
/** Renew this many times per TTL: a renewal may be late twice and the lease still holds. */
export const RENEWALS_PER_TTL = 3;

export interface LeaseLockOptions {
  store: CoordinatorStore;
  /** Lock name. Default `training_slot`. */
  name?: string;
  /** Live holders at most (MAX_CONCURRENT_TRAINING_JOBS). Default 1. */
  capacity?: number;
  /** Lease duration in ms (TRAINING_LOCK_TTL). */
  ttlMs: number;
  /** The process the leases are granted to. Default: this one. */
  owner?: ProcessIdentity;
  now?: () => number;
}

export interface LeaseLockEvents {
  /** A renewal found the lease gone: it expired and may belong to someone else now. */
  lost: [lease: Lease];
}

/** Stops renewing; returned by keepAlive. */
export interface KeepAlive {
  stop(): void;
}

export class LeaseLock extends EventEmitter<LeaseLockEvents> {
  readonly name: string;
  readonly capacity: number;
  readonly ttlMs: number;
  private readonly now: () => number;
  private readonly owner: ProcessIdentity;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: LeaseLockOptions) {
    super();
    this.name = o.name ?? TRAINING_SLOT;
    this.capacity = o.capacity ?? 1;
    this.ttlMs = o.ttlMs;
    this.now = o.now ?? Date.now;
    this.owner = o.owner ?? thisProcess();
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw CoordinatorInvalidOption('LeaseLock', 'capacity', 'an integer >= 1', o.capacity);
    if (!(this.ttlMs > 0)) throw CoordinatorInvalidOption('LeaseLock', 'ttlMs', 'a positive number of ms', o.ttlMs);
  }

  private get nowSeconds(): number {
    return this.now() / 1000;
  }

  /** A lease not tied to a job; null while the lock is full. */
  acquire(holder: string): Promise<Lease | null> {
    return this.o.store.acquire(this.name, holder, this.capacity, this.ttlMs / 1000, this.nowSeconds, this.owner);
  }

  /** The next queued job together with a lease for it (see CoordinatorStore.claimNext). */
  claimNext(holder: string): Promise<ClaimResult> {
    return this.o.store.claimNext(this.name, holder, this.capacity, this.ttlMs / 1000, this.nowSeconds, this.owner);
  }

  renew(holder: string): Promise<Lease | null> {
    return this.o.store.renew(this.name, holder, this.ttlMs / 1000, this.nowSeconds);
  }

  /** A new fencing token for a live lease, larger than any granted and than `atLeast`; null when the lease is gone. */
  retoken(holder: string, atLeast = 0): Promise<number | null> {
    return this.o.store.retoken(this.name, holder, this.nowSeconds, atLeast);
  }

  /** Puts running jobs whose holder lost its lease (or died) back in the queue (see CoordinatorStore.recoverOrphans). */
  recoverOrphans(): Promise<RecoveredJob[]> {
    return this.o.store.recoverOrphans(this.name, this.nowSeconds);
  }

  release(holder: string): Promise<void> {
    return this.o.store.release(this.name, holder);
  }

  holders(): Promise<Lease[]> {
    return this.o.store.liveLeases(this.name, this.nowSeconds);
  }

  /**
   * Renews `lease` every TTL/3 until stopped; calls `onLost` (and emits `lost`) once if a renewal fails.
   * A tick while the previous renewal is still out (a slow database) is skipped, not stacked.
   */
  keepAlive(lease: Lease, onLost: (lease: Lease) => void): KeepAlive {
    let renewing = false;
    let stopped = false;
    const tick = async () => {
      let renewed: Lease | null;
      try {
        renewed = await this.renew(lease.holder);
      } catch {
        // A busy database is not a lost lease; the next tick tries again well before the TTL ends.
        return;
      }
      if (renewed || stopped) return;
      stop();
      this.emit('lost', lease);
      onLost(lease);
    };
    const timer = setInterval(() => {
      if (renewing) return;
      renewing = true;
      void tick().finally(() => (renewing = false));
    }, Math.min(MAX_TIMER_MS, Math.max(10, this.ttlMs / RENEWALS_PER_TTL)));
    timer.unref();
    this.timers.add(timer);
    const stop = () => {
      stopped = true;
      clearInterval(timer);
      this.timers.delete(timer);
    };
    return { stop };
  }

  /** Stops every renewal (the leases then run out on their own unless released). Safe to call twice. */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
  }
}
