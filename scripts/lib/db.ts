import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from '../../src/db/data-source';

export interface TestDatabase {
  url: string;
  dataSource: DataSource;
  /** Drops the database and closes the pool. */
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file (`test_<random>` on the shared server). */
export async function createTestDatabase(
  baseUrl = process.env.DATABASE_URL ?? 'mysql://concert:concert@127.0.0.1:3306/concert',
  poolSize = 20,
): Promise<TestDatabase> {
  const name = `test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = createDataSource({ url: baseUrl, poolSize: 1 });
  await admin.initialize();
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.destroy();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const dataSource = createDataSource({ url: url.toString(), poolSize });
  await dataSource.initialize();
  await migrate(dataSource);
  return {
    url: url.toString(),
    dataSource,
    async drop() {
      await dataSource.query(`DROP DATABASE \`${name}\``);
      await dataSource.destroy();
    },
  };
}
