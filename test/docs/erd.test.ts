import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestDatabase } from '../../scripts/lib/db';
import { createTestDatabase } from '../../scripts/lib/db';
import type { ErdModel } from './erd-model';
import { checkErdConsistency, compareErd, parseErd, readSchema } from './erd-model';

const ERD_FILE = path.resolve(__dirname, '../../docs/erd.md');

describe('docs/erd.md against the migrated schema', () => {
  let db: TestDatabase;
  let schema: ErdModel;
  const doc = parseErd(readFileSync(ERD_FILE, 'utf8'));

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 2);
    schema = await readSchema(db.dataSource);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('when all migrations have run, then the ERD has the same tables, columns, types, keys and foreign keys', () => {
    expect(Object.keys(schema.tables).length).toBeGreaterThanOrEqual(8);
    expect(schema.tables).not.toHaveProperty('migrations');
    expect(compareErd(doc, schema)).toEqual([]);
  });

  it('when the ERD marks a column FK, then exactly one relationship line names it, and the other way round', () => {
    expect(checkErdConsistency(doc)).toEqual([]);
  });

  it('when the doc lacks a column or a foreign key, then the comparison names each one', () => {
    const stale = structuredClone(doc);
    delete stale.tables.seats!.price;
    stale.foreignKeys = stale.foreignKeys.filter((fk) => !(fk.table === 'payments' && fk.column === 'user_id'));
    expect(compareErd(stale, schema)).toEqual([
      'column seats.price: in the schema but not in docs/erd.md',
      'foreign key payments.user_id → users: in the schema but not in docs/erd.md',
    ]);
  });

  it('when the doc has a column, a table or a type the schema lacks, then the comparison names each one', () => {
    const stale = structuredClone(doc);
    stale.tables.users!.nickname = { type: 'VARCHAR(50)', keys: [] };
    stale.tables.venues = { id: { type: 'CHAR(36)', keys: ['PK'] } };
    stale.tables.concerts!.title = { type: 'VARCHAR(100)', keys: [] };
    stale.tables.reservations!.user_id = { type: 'CHAR(36)', keys: [] };
    expect(compareErd(stale, schema)).toEqual([
      'column concerts.title: type VARCHAR(100) in docs/erd.md, VARCHAR(200) in the schema',
      'column reservations.user_id: keys none in docs/erd.md, FK in the schema',
      'column users.nickname: in docs/erd.md but not in the schema',
      'table venues: in docs/erd.md but not in the schema',
    ]);
  });

  it('when a relationship names an unmarked column, repeats one, or an FK marker has none, then the consistency check reports it', () => {
    const stale = structuredClone(doc);
    stale.tables.seats!.holder_user_id!.keys = [];
    stale.foreignKeys.push({ table: 'seats', column: 'holder_user_id', references: 'users' });
    stale.tables.seats!.reservation_id!.keys = ['FK'];
    stale.foreignKeys.push({ table: 'payments', column: 'user_id', references: 'users' });
    expect(checkErdConsistency(stale)).toEqual([
      'relationship seats.holder_user_id → users: seats.holder_user_id is not marked FK',
      'relationship payments.user_id → users: payments.user_id has two',
      'column seats.reservation_id: marked FK but no relationship line names it',
    ]);
  });

  it('when a line of the diagram cannot be read, then parsing fails naming it', () => {
    const text = readFileSync(ERD_FILE, 'utf8').replace('BIGINT balance', 'BIGINT balance NOT NULL');
    expect(() => parseErd(text)).toThrow(/"BIGINT balance NOT NULL": not a column/);
  });
});

describe('readSchema after a migration changes the schema', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(undefined, 2);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('when a column and a foreign key are added to the database, then the unchanged ERD no longer matches', async () => {
    const doc = parseErd(readFileSync(ERD_FILE, 'utf8'));
    expect(compareErd(doc, await readSchema(db.dataSource))).toEqual([]);
    await db.dataSource.query('ALTER TABLE seats ADD COLUMN section VARCHAR(8) NULL');
    await db.dataSource.query(
      'ALTER TABLE seats ADD CONSTRAINT fk_seats_holder FOREIGN KEY (holder_user_id) REFERENCES users (id)',
    );
    expect(compareErd(doc, await readSchema(db.dataSource))).toEqual([
      'column seats.holder_user_id: keys none in docs/erd.md, FK in the schema',
      'column seats.section: in the schema but not in docs/erd.md',
      'foreign key seats.holder_user_id → users: in the schema but not in docs/erd.md',
    ]);
  });
});
