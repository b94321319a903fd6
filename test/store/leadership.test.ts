/**
 * Leadership of a named role over one database, on SQLite and Postgres: nodes (Leadership objects, one
 * holder name each) sharing a store and a clock the test moves, plus the real timers for renewal and
 * expiry; then nodes racing over separate connections (several processes' view), where exactly one leads
 * and a new term starts only once the last one's TTL ran out.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CoordinatorStore } from '../../src/coordinator/coordinator-store.js';
import { Leadership, type LeadershipOptions } from '../../src/coordinator/leadership.js';
import { thisHost, thisProcess, type ProcessIdentity } from '../../src/util/process-identity.js';
import { describeStores } from './harness.js';

const ROLE = 'rollout-controller';
const TTL_MS = 10_000;

describeStores('Leadership', (fresh) => {
  let store: CoordinatorStore;
  let clock: number;
  const nodes: Leadership[] = [];
  const node = (holder: string, o: Partial<LeadershipOptions> = {}) => {
    const l = new Leadership({ store, role: ROLE, ttlMs: 10_000, holder, now: () => clock, ...o });
    nodes.push(l);
    return l;
  };
  const events = (l: Leadership) => {
    const seen: string[] = [];
    l.on('elected', (lease) => seen.push(`elected ${lease.token}`));
    l.on('deposed', (reason) => seen.push(`deposed: ${reason}`));
    return seen;
  };

  beforeEach(async () => {
    store = new CoordinatorStore((await fresh()).db);
    clock = 1_000_000;
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
  });

  it('elects exactly one of two nodes; the other stays a follower while the leader renews', async () => {
    const a = node('a');
    const b = node('b');
    const ea = events(a);
    const eb = events(b);
    await a.campaign();
    await b.campaign();
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    expect(ea).toEqual([`elected ${a.lease!.token}`]);
    // 20 rounds, each a third of the TTL apart: the leader renews every time, the follower never gets in.
    for (let i = 0; i < 20; i++) {
      clock += 10_000 / 3;
      await b.campaign();
      await a.campaign();
      expect([a.isLeader, b.isLeader]).toEqual([true, false]);
      expect(await a.holds()).toBe(true);
      expect(await b.holds()).toBe(false);
    }
    expect(eb).toEqual([]);
    expect((await store.liveLeases(ROLE, clock / 1000)).map((l) => l.holder)).toEqual(['a']);
  });

  it('loses the role when a renewal finds the lease expired, and the other node takes it with a larger token', async () => {
    const a = node('a');
    const b = node('b');
    const ea = events(a);
    await a.campaign();
    const first = a.lease!.token;
    clock += 10_001; // a stalled past its TTL
    expect(a.isLeader).toBe(false); // stops acting by its own clock, before any round
    await b.campaign();
    expect(b.isLeader).toBe(true);
    expect(b.lease!.token).toBeGreaterThan(first);
    expect(await a.holds()).toBe(false);
    await a.campaign();
    expect(a.isLeader).toBe(false);
    expect(ea).toEqual([`elected ${first}`, 'deposed: the lease expired before it was renewed; another node may lead now']);
  });

  it('deposes itself when no renewal lands within the TTL, even while the database cannot answer', async () => {
    const a = new Leadership({ store, role: ROLE, ttlMs: 150, holder: 'a' });
    nodes.push(a);
    const ea = events(a);
    await a.start();
    expect(a.isLeader).toBe(true);
    // The database is held by another writer: every lease statement throws from now on.
    const busy = () => {
      throw new Error('database is locked');
    };
    const { renew, acquire } = store;
    store.renew = busy;
    store.acquire = busy;
    await new Promise((r) => setTimeout(r, 500));
    expect(a.isLeader).toBe(false);
    expect(a.lastError).toBe('database is locked');
    expect(ea[1]).toBe('deposed: no renewal landed within the lease TTL');
    expect(ea).toHaveLength(2);
    // Once the database answers again the node campaigns back in, under a new token.
    store.renew = renew;
    store.acquire = acquire;
    await new Promise((r) => setTimeout(r, 300));
    expect(a.isLeader).toBe(true);
    expect(ea[2]).toMatch(/^elected \d+$/);
  });

  it('renews on its own timer every TTL/3 and keeps the role for many TTLs', async () => {
    const a = new Leadership({ store, role: ROLE, ttlMs: 300, holder: 'a' });
    const b = new Leadership({ store, role: ROLE, ttlMs: 300, holder: 'b' });
    nodes.push(a, b);
    const ea = events(a);
    await a.start();
    await b.start();
    await new Promise((r) => setTimeout(r, 1500));
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(ea).toHaveLength(1);
  });

  it('takes over at once from a holder whose process is gone, without waiting for its TTL', async () => {
    // A real process that has ended: its pid names nothing any more.
    const done = spawnSync(process.execPath, ['-e', '0']);
    const dead: ProcessIdentity = { host: thisHost(), pid: done.pid!, startTime: null };
    const a = node('a', { owner: dead, ttlMs: 3_600_000 });
    const b = node('b', { owner: thisProcess(), ttlMs: 3_600_000 });
    await a.campaign();
    expect(a.isLeader).toBe(true);
    await b.campaign();
    expect(b.isLeader).toBe(true);
    expect((await store.liveLeases(ROLE, clock / 1000)).map((l) => l.holder)).toEqual(['b']);
  });

  it('never takes over from a live holder on another host before its TTL ends', async () => {
    const elsewhere: ProcessIdentity = { host: 'another-host boot ns', pid: 1, startTime: null };
    const a = node('a', { owner: elsewhere });
    const b = node('b');
    await a.campaign();
    clock += 9_999;
    await b.campaign();
    expect(b.isLeader).toBe(false);
    clock += 2;
    await b.campaign();
    expect(b.isLeader).toBe(true);
  });

  it('gives the role up on close, so the other node leads on its next round', async () => {
    const a = node('a');
    const b = node('b');
    const ea = events(a);
    await a.campaign();
    await b.campaign();
    await a.close();
    expect(ea.at(-1)).toBe('deposed: closing');
    await b.campaign();
    expect(b.isLeader).toBe(true);
    await a.campaign(); // closed: no longer campaigns
    expect(a.isLeader).toBe(false);
  });

  it('keeps roles apart: one node may lead one role while another leads a second', async () => {
    const a = node('a');
    const b = node('b', { role: 'intake-reconcile' });
    await a.campaign();
    await b.campaign();
    expect([a.isLeader, b.isLeader]).toEqual([true, true]);
  });

  it('never has two leaders among many nodes campaigning in random order over many rounds', async () => {
    const all = ['a', 'b', 'c', 'd', 'e'].map((h) => node(h));
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let changes = 0;
    let last: string | null = null;
    for (let round = 0; round < 500; round++) {
      // Sometimes a node stalls past the TTL, so leadership moves.
      clock += rand() < 0.05 ? 10_001 : 1_000 + rand() * 3_000;
      for (const n of [...all].sort(() => rand() - 0.5)) if (rand() < 0.8) await n.campaign();
      const leaders = [];
      for (const n of all) if (n.isLeader && (await n.holds())) leaders.push(n);
      expect(leaders.length).toBeLessThanOrEqual(1);
      const now = leaders[0]?.holder ?? null;
      if (now !== null && now !== last) changes++;
      if (now !== null) last = now;
    }
    expect(changes).toBeGreaterThan(3);
    // ~4,500 statements' transactions: 20 s on an idle local Postgres, so room for a busy CI machine.
  }, 180_000);
});

describeStores('Leadership across connections', (fresh) => {
  const nodes: Leadership[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
  });

  it('elects exactly one of three nodes racing on separate connections, round after round, each new term under a larger token', async () => {
    const { db, another } = await fresh();
    let clock = 1_000_000;
    const stores = [new CoordinatorStore(db), new CoordinatorStore(await another()), new CoordinatorStore(await another())];
    const all = stores.map((store, i) => new Leadership({ store, role: ROLE, ttlMs: TTL_MS, holder: `node${i}`, now: () => clock }));
    nodes.push(...all);
    let lastToken = 0;
    for (let round = 0; round < 24; round++) {
      // Odd rounds: every lease has run out (the leader stalled), so all three race for the role. Even
      // rounds: a third of the TTL later, the leader renews and the others stay followers.
      const stalled = round % 2 === 0;
      clock += stalled ? TTL_MS + 1 : TTL_MS / 3;
      await Promise.all(all.map((n) => n.campaign()));
      const leaders = [];
      for (const n of all) if (n.isLeader && (await n.holds())) leaders.push(n);
      expect(leaders).toHaveLength(1);
      const token = leaders[0].lease!.token;
      if (stalled) expect(token).toBeGreaterThan(lastToken);
      else expect(token).toBe(lastToken);
      lastToken = token;
    }
  });

  it('elects exactly one of three nodes starting together on a role nobody held yet', async () => {
    const { db, another } = await fresh();
    const stores = [new CoordinatorStore(db), new CoordinatorStore(await another()), new CoordinatorStore(await another())];
    for (let r = 0; r < 10; r++) {
      const all = stores.map((store, i) => new Leadership({ store, role: `role-${r}`, ttlMs: TTL_MS, holder: `node${i}` }));
      nodes.push(...all);
      await Promise.all(all.map((n) => n.campaign()));
      expect(all.filter((n) => n.isLeader)).toHaveLength(1);
    }
  });
});
