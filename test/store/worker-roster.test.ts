import { expect, it } from 'vitest';
import { WorkerRoster } from '../../src/training/worker-roster.js';
import type { ProcessIdentity } from '../../src/util/process-identity.js';
import { describeStores } from './harness.js';

const TTL = 10;
const elsewhere = (pid: number): ProcessIdentity => ({ host: 'another-host boot-id ns', pid, startTime: null });

describeStores('WorkerRoster', (fresh) => {
  it('lists the runners that beat within their TTL, with their pools, and drops one that left', async () => {
    const { db, another } = await fresh();
    const roster = new WorkerRoster(db);
    const seenElsewhere = new WorkerRoster(await another());
    await roster.beat('w-local', 'local', elsewhere(1), TTL, 1000);
    await roster.beat('w-cloud', 'cloud', elsewhere(2), TTL, 1000);
    await roster.beat('w-cloud', 'cloud', elsewhere(2), TTL, 1008);
    expect(await seenElsewhere.live(1009)).toEqual([
      { workerId: 'w-cloud', pool: 'cloud', host: 'another-host', pid: 2, startedAt: 1000, seenAt: 1008 },
      { workerId: 'w-local', pool: 'local', host: 'another-host', pid: 1, startedAt: 1000, seenAt: 1000 },
    ]);
    // w-local's last beat was at 1000: gone after its TTL; w-cloud leaves on its own.
    expect((await roster.live(1011)).map((w) => w.workerId)).toEqual(['w-cloud']);
    await roster.leave('w-cloud');
    expect(await seenElsewhere.live(1011)).toEqual([]);
  });

  it('takes a new pool and TTL from the latest beat', async () => {
    const { db } = await fresh();
    const roster = new WorkerRoster(db);
    await roster.beat('w', 'local', elsewhere(1), TTL, 1000);
    await roster.beat('w', 'gpu', elsewhere(1), 100, 1001);
    expect(await roster.live(1090)).toMatchObject([{ workerId: 'w', pool: 'gpu', startedAt: 1000, seenAt: 1001 }]);
  });
});
