import { expect, it } from 'vitest';
import { OutboxStore } from '../../src/coordinator/outbox-store.js';
import { describeStores } from './harness.js';

const item = (modelType: string, i: number) => ({ modelType, body: JSON.stringify({ type: 'command', input: { text: `x${i}` } }) });

describeStores('OutboxStore', (fresh) => {
  it('keeps items, counts them per type and claims the oldest first', async () => {
    const { db } = await fresh();
    const o = new OutboxStore(db);
    expect(await o.add([item('nlu', 1), item('nlu', 2), item('voice', 3)], 100)).toBe(3);
    await o.add([item('nlu', 4)], 101);
    expect(await o.pendingByType()).toEqual([
      { modelType: 'nlu', count: 3, oldest: 100 },
      { modelType: 'voice', count: 1, oldest: 100 },
    ]);
    expect(await o.pendingTotal()).toBe(4);
    const batch = (await o.claim('nlu', 'a', 2, 60, 200))!;
    expect(batch.bodies).toEqual([item('nlu', 1).body, item('nlu', 2).body]);
    expect(batch.bytes).toBe(Buffer.byteLength(batch.bodies.join('')));
    expect(batch.fileTs).toBe(200_000);
    // Claimed rows are not claimed again until the claim runs out.
    const rest = (await o.claim('nlu', 'b', 10, 60, 201))!;
    expect(rest.bodies).toEqual([item('nlu', 4).body]);
    expect(await o.claim('nlu', 'c', 10, 60, 202)).toBeNull();
    // File names stay unique even when the clock does not move.
    expect(rest.fileTs).toBe(201_000);
    expect((await o.claim('voice', 'c', 10, 60, 201))!.fileTs).toBe(201_000);
    await o.complete(batch);
    expect(await o.pendingTotal()).toBe(2);
    expect(await o.forwarded('nlu')).toEqual({ experiences: 2, bytes: batch.bytes, files: 1 });
    expect(await o.forwarded('vision')).toEqual({ experiences: 0, bytes: 0, files: 0 });
  });

  it('gives the rows of an unclaimed or expired batch to the next claimer, and only the holder completes', async () => {
    const { db } = await fresh();
    const o = new OutboxStore(db);
    await o.add([item('nlu', 1), item('nlu', 2)], 100);
    const a = (await o.claim('nlu', 'a', 10, 60, 100))!;
    await o.unclaim(a);
    const b = (await o.claim('nlu', 'b', 10, 60, 101))!;
    expect(b.seqs).toEqual(a.seqs);
    expect(b.fileTs).toBe(101_000);
    // b dies; after its claim runs out c takes the rows, and b's late complete deletes nothing.
    const c = (await o.claim('nlu', 'c', 10, 60, 161))!;
    expect(c.seqs).toEqual(a.seqs);
    await o.complete(b);
    expect(await o.pendingTotal()).toBe(2);
    await o.complete(c);
    expect(await o.pendingTotal()).toBe(0);
  });

  it('never hands one row to two claimers racing on separate connections', async () => {
    const { db, another } = await fresh();
    const stores = [new OutboxStore(db), new OutboxStore(await another()), new OutboxStore(await another())];
    await stores[0].add(Array.from({ length: 60 }, (_, i) => item('nlu', i)), 100);
    const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => stores[i % 3].claim('nlu', `w${i}`, 5, 60, 100 + i / 1000)));
    const seqs = claims.flatMap((b) => b?.seqs ?? []);
    expect(seqs.length).toBe(60);
    expect(new Set(seqs).size).toBe(60);
    const ts = claims.map((b) => b!.fileTs);
    expect(new Set(ts).size).toBe(12);
  });

  it('adds all items or none', async () => {
    const { db } = await fresh();
    const o = new OutboxStore(db);
    await expect(o.add([item('nlu', 1), { modelType: 'nlu', body: null as unknown as string }], 100)).rejects.toThrow();
    expect(await o.pendingTotal()).toBe(0);
  });
});
