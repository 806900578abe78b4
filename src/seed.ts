import { loadConfig } from './config';
import { createConcert } from './seats/concerts';
import { createDataSource, migrate } from './db/data-source';

const DEMO_TITLE = 'Temporal Live';
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `npm run seed` (and `npm start`): if the database has no concert yet, creates the demo
 * concert "Temporal Live" on three dates (a week from today, then the two days after) with
 * 50 seats each; either way prints the first concert's id and dates. Safe to run again and
 * from several processes at once (a named lock serialises them).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const ds = createDataSource({ url: config.databaseUrl, poolSize: 2 });
  await ds.initialize();
  await migrate(ds);
  const lock = ds.createQueryRunner();
  await lock.connect();
  try {
    await lock.query("SELECT GET_LOCK('concert_reservation_seed', 60)");
    const [existing] = await ds.query<
      Array<{
        id: string;
        title: string;
      }>
    >('SELECT id, title FROM concerts ORDER BY created_at, id LIMIT 1');
    let concertId: string;
    let title: string;
    if (existing) {
      ({ id: concertId, title } = existing);
    } else {
      const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
      const dates = [7, 8, 9].map((days) => new Date(today + days * DAY_MS).toISOString().slice(0, 10));
      // Front rows cost more, so the seat map shows prices that differ.
      const prices = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [i + 1, 90_000]));
      ({ concertId } = await createConcert(ds, { title: DEMO_TITLE, dates, price: 50_000, prices }));
      title = DEMO_TITLE;
    }
    const rows = await ds.query<Array<{ date: string }>>(
      'SELECT date FROM performances WHERE concert_id = ? ORDER BY date',
      [concertId],
    );
    const dates = rows.map((r) => r.date);
    console.log(`${existing ? 'concert already present' : 'seeded concert'}: "${title}" ${concertId}`);
    console.log(`  dates: ${dates.join(', ')}`);
  } finally {
    await lock.query("SELECT RELEASE_LOCK('concert_reservation_seed')").catch(() => undefined);
    await lock.release();
    await ds.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
