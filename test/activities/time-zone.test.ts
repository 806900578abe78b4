import mysql from 'mysql2/promise';
import { createConcert } from '../../src/seats/concerts';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * The tests run against a server whose global time zone is +09:00 (test/helpers/global-setup.ts).
 * A session left in the server's zone judges UTC values against a clock nine hours ahead; the
 * service's pool puts every session in UTC and compares only UTC values it passes in.
 */
describe('UTC whatever the server time zone', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('when a session is in +09:00, then the old `held_until > NOW(3)` guard calls a live hold lapsed; the pool session does not', async () => {
    const heldUntil = new Date(Date.now() + 5 * 60_000);
    // A plain connection (no session set-up), as the service's queries ran before v1.1, in Seoul's zone.
    const raw = await mysql.createConnection({ uri: db.url, timezone: 'Z' });
    try {
      await raw.query("SET time_zone = '+09:00'");
      const [rows] = await raw.query('SELECT ? > NOW(3) AS live', [heldUntil]);
      expect(Number((rows as Array<{ live: number }>)[0]?.live)).toBe(0);
    } finally {
      await raw.end();
    }
    const [pooled] = await db.dataSource.query<Array<{ live: number; zone: string }>>(
      'SELECT ? > NOW(3) AS live, @@session.time_zone AS zone',
      [heldUntil],
    );
    expect(pooled?.zone).toBe('+00:00');
    expect(Number(pooled?.live)).toBe(1);
  });

  it('when a row takes a CURRENT_TIMESTAMP default, then it reads back as the UTC instant of its insert', async () => {
    const before = Date.now();
    const { concertId } = await createConcert(db.dataSource, { title: 'Zone', dates: ['2099-12-24'], price: 1000 });
    const [row] = await db.dataSource.query<Array<{ created_at: Date }>>(
      'SELECT created_at FROM concerts WHERE id = ?',
      [concertId],
    );
    expect(Math.abs((row?.created_at.getTime() ?? 0) - before)).toBeLessThan(60_000);
  });
});
