import { randomUUID } from 'node:crypto';
import { readThenWrite } from '../../src/db/sql';
import { createTestDatabase, type TestDatabase } from '../../scripts/lib/db';

describe('readThenWrite on MariaDB', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 2);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const newUser = async (balance: number): Promise<string> => {
    const id = randomUUID();
    await db.dataSource.query('INSERT INTO users (id, balance) VALUES (?, ?)', [id, balance]);
    return id;
  };
  const balanceOf = async (id: string): Promise<number> =>
    Number((await db.dataSource.query('SELECT balance FROM users WHERE id = ?', [id]))[0].balance);
  const lock = (id: string) => ({ sql: 'SELECT balance FROM users WHERE id = ? FOR UPDATE', params: [id] });

  test('when the decision returns writes, then they are committed and its answer comes back', async () => {
    const id = await newUser(10);
    const answer = await readThenWrite<number>(db.dataSource, [lock(id)], ([rows]) => {
      const balance = Number((rows as Array<{ balance: string }>)[0]!.balance) + 5;
      return { writes: [{ sql: 'UPDATE users SET balance = ? WHERE id = ?', params: [balance, id] }], result: balance };
    });
    expect(answer).toBe(15);
    expect(await balanceOf(id)).toBe(15);
  });

  test('when a later write of the batch fails, then the earlier writes are rolled back and the connection stays usable', async () => {
    const id = await newUser(10);
    const taken = await newUser(0);
    const attempt = readThenWrite(db.dataSource, [lock(id)], () => ({
      writes: [
        { sql: 'UPDATE users SET balance = 99 WHERE id = ?', params: [id] },
        // The primary key is taken: this statement fails after the update above ran.
        { sql: 'INSERT INTO users (id, balance) VALUES (?, 0)', params: [taken] },
      ],
      result: 'written',
    }));
    await expect(attempt).rejects.toMatchObject({ errno: 1062 });
    expect(await balanceOf(id)).toBe(10);
    // Both pooled connections still work (neither is left inside the failed transaction).
    const reads = await Promise.all([balanceOf(id), balanceOf(taken), balanceOf(id)]);
    expect(reads).toEqual([10, 0, 10]);
  });

  test('when the decision throws, then nothing is written and the lock is released', async () => {
    const id = await newUser(10);
    const refused = readThenWrite(db.dataSource, [lock(id)], () => {
      throw new Error('refused');
    });
    await expect(refused).rejects.toThrow('refused');
    // Another transaction can lock the row at once (a lock left behind would wait 50 s).
    const again = await readThenWrite<number>(db.dataSource, [lock(id)], ([rows]) => ({
      writes: [],
      result: Number((rows as Array<{ balance: string }>)[0]!.balance),
    }));
    expect(again).toBe(10);
  });
  test('when the check refuses what the writes reported, then nothing of them is committed', async () => {
    const id = await newUser(10);
    const checked = readThenWrite(db.dataSource, [lock(id)], () => ({
      writes: [
        { sql: 'UPDATE users SET balance = 99 WHERE id = ?', params: [id] },
        { sql: 'UPDATE users SET balance = 0 WHERE id = ?', params: [randomUUID()] },
      ],
      result: 'written',
      check: (results) => {
        expect(results.map((r) => r.affectedRows)).toEqual([1, 0]);
        throw new Error('the second update missed its row');
      },
    }));
    await expect(checked).rejects.toThrow('the second update missed its row');
    expect(await balanceOf(id)).toBe(10);
  });
});
