/**
 * Leadership over separate connections to one database (several processes' view): racing campaigns elect
 * exactly one leader, a new term only once the last one's TTL ran out. The single-handle behaviour (timers, expiry,
 * close, process identity) is in test/coordinator/leadership.test.ts.
 */
import { afterEach, expect, it } from 'vitest';
import { CoordinatorStore } from '../../src/coordinator/coordinator-store.js';
import { Leadership } from '../../src/coordinator/leadership.js';
import { describeStores } from './harness.js';

const ROLE = 'rollout-controller';
const TTL_MS = 10_000;

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
