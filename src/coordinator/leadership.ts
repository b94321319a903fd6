/**
 * Leadership of one named role (`rollout-controller`, `intake-reconcile`, `auto-trigger`) among the
 * processes sharing one database: a LeaseLock of capacity 1 in `coordinator_leases`, so it has the
 * training lock's TTL, fencing tokens and holder identity. A node campaigns every TTL/3: the leader renews,
 * the others try to take the lease, which they get once it has expired or its process is provably gone.
 * The leader stops acting the moment a renewal fails or its lease's time runs out without one (even when
 * the database is too busy to say), and `holds(tx)` lets a transaction check the lease before it writes.
 * Rounds go to the database (the async store seam), one at a time: a timer tick while one is out is skipped.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { CoordinatorStore } from './coordinator-store.js';
import type { Sql } from '../store/sql.js';
import { LeaseLock, RENEWALS_PER_TTL } from './lease-lock.js';
import { MAX_TIMER_MS } from './follow.js';
import type { ProcessIdentity } from '../util/process-identity.js';
import type { Lease } from './types.js';

export const ROLE_ROLLOUT_CONTROLLER = 'rollout-controller';
export const ROLE_INTAKE_RECONCILE = 'intake-reconcile';
export const ROLE_AUTO_TRIGGER = 'auto-trigger';

export interface LeadershipOptions {
  store: CoordinatorStore;
  /** The role's lease name. */
  role: string;
  /** Lease duration in ms (LEADER_LEASE_TTL). */
  ttlMs: number;
  /** This node's name as a lease holder; one per process, shared by its roles. */
  holder: string;
  /** The process the lease is granted to. Default: this one. */
  owner?: ProcessIdentity;
  now?: () => number;
}

export interface LeadershipEvents {
  /** This node holds the role now, under `lease.token`. */
  elected: [lease: Lease];
  /** This node no longer holds the role (lease lost, expired unrenewed, or released by close). */
  deposed: [reason: string];
}

/** A holder name for this process: service, host, pid and a few random bytes (a pid can be reused). */
export function nodeName(service: string): string {
  return `${service}-${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

export class Leadership extends EventEmitter<LeadershipEvents> {
  readonly role: string;
  readonly holder: string;
  readonly ttlMs: number;
  readonly #lock: LeaseLock;
  readonly #now: () => number;
  #lease: Lease | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Fires when the lease's time is up without a renewal having landed. */
  #expiry: NodeJS.Timeout | null = null;
  #closed = false;
  #lastError: string | null = null;
  /** The round in progress, if any. */
  #round: Promise<void> | null = null;
  readonly #store: CoordinatorStore;

  constructor(o: LeadershipOptions) {
    super();
    this.role = o.role;
    this.holder = o.holder;
    this.ttlMs = o.ttlMs;
    this.#now = o.now ?? Date.now;
    this.#store = o.store;
    this.#lock = new LeaseLock({ store: o.store, name: o.role, capacity: 1, ttlMs: o.ttlMs, owner: o.owner, now: this.#now });
  }

  /** Campaigns now (`isLeader` is settled when this resolves), then every TTL/3. */
  async start(): Promise<void> {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.campaign(), Math.min(MAX_TIMER_MS, Math.max(10, this.ttlMs / RENEWALS_PER_TTL)));
    this.#timer.unref();
    await this.campaign();
  }

  /** True while this node holds a lease whose time, by this node's clock, has not run out. */
  get isLeader(): boolean {
    return this.#lease !== null && this.#now() / 1000 < this.#lease.expiresAt;
  }

  get lease(): Lease | null {
    return this.isLeader ? this.#lease : null;
  }

  /** The last database error of a campaign, null after one succeeded. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /**
   * Asks the database whether this node's lease (same token) is still live: the fence to call inside the
   * transaction that acts as leader (pass its `tx`), so a node that lost the lease cannot commit after
   * another took it.
   */
  async holds(tx?: Sql): Promise<boolean> {
    const mine = this.#lease;
    if (mine === null) return false;
    const live = await this.#store.liveLeases(this.role, this.#now() / 1000, tx);
    return live.some((l) => l.holder === this.holder && l.token === mine.token);
  }

  /** One round: renew when leading, else try to take the lease. Public for tests; the timer calls it. A round already out is shared. */
  campaign(): Promise<void> {
    this.#round ??= this.#campaign().finally(() => (this.#round = null));
    return this.#round;
  }

  async #campaign(): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.#lease) {
        const renewed = await this.#lock.renew(this.holder);
        this.#lastError = null;
        if (renewed && !this.#closed) {
          this.#hold(renewed);
          return;
        }
        if (this.#closed) return;
        this.#depose('the lease expired before it was renewed; another node may lead now');
      }
      const got = await this.#lock.acquire(this.holder);
      this.#lastError = null;
      if (!got) return;
      // Closed while the grant was out: give it straight back rather than hold it until its TTL.
      if (this.#closed) return await this.#lock.release(this.holder);
      this.#hold(got);
      this.emit('elected', got);
    } catch (err) {
      // A busy database is not a lost lease: the expiry timer deposes if no renewal lands in time.
      this.#lastError = err instanceof Error ? err.message : String(err);
    }
  }

  /** Stops campaigning and gives the lease up, so another node takes over at once. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#round;
    if (this.#lease === null) return;
    // Stops acting before the release goes out, as a sync close did.
    this.#depose('closing');
    try {
      await this.#lock.release(this.holder);
    } catch {
      // The database is closing or busy: the lease then runs out on its own within the TTL.
    }
  }

  #hold(lease: Lease): void {
    this.#lease = lease;
    if (this.#expiry) clearTimeout(this.#expiry);
    const left = Math.max(0, lease.expiresAt * 1000 - this.#now());
    this.#expiry = setTimeout(() => {
      if (this.#lease === lease) this.#depose('no renewal landed within the lease TTL');
    }, Math.min(MAX_TIMER_MS, left));
    this.#expiry.unref();
  }

  #depose(reason: string): void {
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#expiry = null;
    this.#lease = null;
    this.emit('deposed', reason);
  }
}
