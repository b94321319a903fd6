import Database from 'better-sqlite3';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { greatest, inList, listParam, SqliteSql, toPgPlaceholders } from '../../src/store/sql.js';
import { tempHome } from '../helpers/processes.js';
import { describeStores } from './harness.js';

it('numbers placeholders for Postgres in order', () => {
  expect(toPgPlaceholders('UPDATE t SET a = ? WHERE b = ? AND c = ANY(?::bigint[])')).toBe('UPDATE t SET a = $1 WHERE b = $2 AND c = ANY($3::bigint[])');
});

it('waits for another connection\'s write lock between turns of the event loop, not inside SQLite\'s busy handler', async () => {
  const path = join(tempHome('trinity-busy-'), 'trinity.db');
  const sql = new SqliteSql(openDatabase({ path }));
  await sql.run("INSERT INTO fencing_tokens (name, seen) VALUES ('t', 0)");
  // Another connection (the writer thread, a worker process) holds the write lock for 300 ms; it lets go
  // on a timer of this thread, which fires only if waiting for the lock leaves the loop free.
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  setTimeout(() => other.exec('COMMIT'), 300);
  let ticks = 0;
  let widestGap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    widestGap = Math.max(widestGap, performance.now() - last);
    last = performance.now();
    ticks++;
  }, 5);
  try {
    await sql.run("UPDATE fencing_tokens SET seen = 1 WHERE name = 't'");
    await sql.transaction(async (tx) => {
      await tx.run("UPDATE fencing_tokens SET seen = seen + 1 WHERE name = 't'");
    });
  } finally {
    clearInterval(ticker);
    other.close();
  }
  expect(await sql.get("SELECT seen FROM fencing_tokens WHERE name = 't'")).toEqual({ seen: 2 });
  expect(ticks).toBeGreaterThan(20);
  expect(widestGap).toBeLessThan(100);
});

describeStores('store seam', (fresh, dialect) => {
  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const { db } = await fresh();
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO fencing_tokens (name, seen) VALUES ('a', 1)");
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO fencing_tokens (name, seen) VALUES ('b', 2)");
        await tx.run("UPDATE fencing_tokens SET seen = 9 WHERE name = 'a'");
        throw new Error('give up');
      }),
    ).rejects.toThrow('give up');
    expect(await db.all('SELECT name, seen FROM fencing_tokens ORDER BY name')).toEqual([{ name: 'a', seen: 1 }]);
  });

  it('returns counts and bigint columns as numbers, and changes from run', async () => {
    const { db } = await fresh();
    const big = 1_765_000_000_123;
    await db.run('INSERT INTO experience_forwarded (model_type, last_file_ms) VALUES (?, ?)', ['nlu', big]);
    expect(await db.get('SELECT COUNT(*) AS n, MAX(last_file_ms) AS ms FROM experience_forwarded')).toEqual({ n: 1, ms: big });
    expect(await db.run('UPDATE experience_forwarded SET files = files + 1 WHERE model_type = ?', ['nlu'])).toEqual({ changes: 1 });
    expect(await db.run('UPDATE experience_forwarded SET files = files + 1 WHERE model_type = ?', ['none'])).toEqual({ changes: 0 });
  });

  it('speaks the fragments that differ: a list parameter and the larger of two values', async () => {
    const { db } = await fresh();
    for (const n of ['a', 'b', 'c']) await db.run('INSERT INTO fencing_tokens (name, seen) VALUES (?, ?)', [n, n.charCodeAt(0)]);
    const rows = await db.all<{ name: string; g: number }>(`SELECT name, ${greatest(dialect, 'seen', '98')} AS g FROM fencing_tokens WHERE ${inList(dialect, 'name', 'text')} ORDER BY name`, [
      listParam(dialect, ['a', 'c']),
    ]);
    expect(rows).toEqual([
      { name: 'a', g: 98 },
      { name: 'c', g: 99 },
    ]);
  });

  it('keeps a read-then-write transaction whole against another connection doing the same', async () => {
    const { db, another } = await fresh();
    const other = await another();
    await db.run("INSERT INTO fencing_tokens (name, seen) VALUES ('t', 0)");
    // Each increment reads, then writes what it read plus one: only an isolated pair never loses one.
    const bump = (d: typeof db) =>
      d.transaction(async (tx) => {
        const row = await tx.get<{ seen: number }>(`SELECT seen FROM fencing_tokens WHERE name = 't'${dialect === 'postgres' ? ' FOR UPDATE' : ''}`);
        await tx.run("UPDATE fencing_tokens SET seen = ? WHERE name = 't'", [row!.seen + 1]);
      });
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? db : other)));
    expect(await db.get("SELECT seen FROM fencing_tokens WHERE name = 't'")).toEqual({ seen: 20 });
  });

  it.skipIf(dialect !== 'postgres')('frees the row locks of a connection frozen inside a transaction once the server ends its session, and the frozen side fails instead of writing', async () => {
    const { db, another } = await fresh();
    // Stands for a process SIGSTOPped between BEGIN and COMMIT: its connection is open but says nothing.
    const frozen = await another({ idleInTransactionMs: 300 });
    await db.run("INSERT INTO fencing_tokens (name, seen) VALUES ('t', 0)");
    let holding!: () => void;
    const locked = new Promise<void>((resolve) => (holding = resolve));
    let otherCommitted = false;
    let wokeAfterOther: boolean | null = null;
    const stuck = frozen.transaction(async (tx) => {
      await tx.get("SELECT seen FROM fencing_tokens WHERE name = 't' FOR UPDATE");
      holding();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      wokeAfterOther = otherCommitted;
      await tx.run("UPDATE fencing_tokens SET seen = 99 WHERE name = 't'");
    });
    await locked;
    await db.transaction(async (tx) => {
      const row = await tx.get<{ seen: number }>("SELECT seen FROM fencing_tokens WHERE name = 't' FOR UPDATE");
      await tx.run("UPDATE fencing_tokens SET seen = ? WHERE name = 't'", [row!.seen + 1]);
    });
    otherCommitted = true;
    await expect(stuck).rejects.toThrow();
    expect(wokeAfterOther).toBe(true);
    expect(await db.get("SELECT seen FROM fencing_tokens WHERE name = 't'")).toEqual({ seen: 1 });
    // The pool dropped the ended connection: the woken handle works again.
    expect(await frozen.get('SELECT 1 AS one')).toEqual({ one: 1 });
  }, 10_000);
});
