import type { DataSource } from 'typeorm';

/** Key markers of a column, in this order. */
export const KEY_MARKERS = ['PK', 'FK', 'UK'] as const;
export type KeyMarker = (typeof KEY_MARKERS)[number];

export interface ErdColumn {
  /** As written in the ERD, e.g. `CHAR(36)`, `TINYINT_UNSIGNED`, `ENUM`, `JSON`. */
  type: string;
  keys: KeyMarker[];
}

/** One foreign-key constraint: `table.column` references `references`. */
export interface ErdForeignKey {
  table: string;
  /** The referencing column(s), comma-separated for a composite key. */
  column: string;
  references: string;
}

/** Tables, columns and foreign keys, from docs/erd.md or from the live schema. */
export interface ErdModel {
  tables: Record<string, Record<string, ErdColumn>>;
  foreignKeys: ErdForeignKey[];
}

const sortKeys = (keys: Iterable<KeyMarker>): KeyMarker[] => KEY_MARKERS.filter((k) => [...keys].includes(k));

const ENTITY_START = /^([A-Za-z_][\w-]*)\s*\{$/;
// `<type> <name> [PK|FK|UK, …] ["comment"]`
const COLUMN = /^(\S+)\s+([A-Za-z_]\w*)((?:\s*,?\s*(?:PK|FK|UK))*)(?:\s+"[^"]*")?$/;
// `parent ||--o{ child : "child_column"`: Mermaid crow's-foot cardinalities on either side.
const RELATIONSHIP =
  /^([A-Za-z_][\w-]*)\s+([|}][|o])(?:--|\.\.)([|o][|{])\s+([A-Za-z_][\w-]*)\s*:\s*(?:"([^"]*)"|(\S+))$/;

/**
 * Parses the Mermaid `erDiagram` of docs/erd.md. Conventions (stated in the doc): one column per
 * line `<type> <name> [PK|FK|UK, …]`; each relationship line is one foreign key written
 * `referenced ||--o{ referencing : "referencing_column"`. Throws naming the line it cannot read.
 */
export function parseErd(markdown: string): ErdModel {
  const blocks = [...markdown.matchAll(/```mermaid\n([\s\S]*?)```/g)]
    .map((m) => m[1] ?? '')
    .filter((body) => /^\s*erDiagram\b/.test(body));
  if (blocks.length !== 1) throw new Error(`expected one mermaid erDiagram block, found ${blocks.length}`);
  const model: ErdModel = { tables: {}, foreignKeys: [] };
  let entity: string | null = null;
  const lines = blocks[0]!.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const where = `erDiagram line ${index + 1}: "${line}"`;
    if (line === '' || line === 'erDiagram' || line.startsWith('%%')) return;
    if (entity !== null) {
      if (line === '}') {
        entity = null;
        return;
      }
      const column = COLUMN.exec(line);
      if (!column) throw new Error(`${where}: not a column "<type> <name> [PK|FK|UK]"`);
      const [, type, name, markers] = column as unknown as [string, string, string, string];
      const table = model.tables[entity]!;
      if (table[name]) throw new Error(`${where}: column ${entity}.${name} listed twice`);
      table[name] = { type, keys: sortKeys((markers.match(/PK|FK|UK/g) ?? []) as KeyMarker[]) };
      return;
    }
    const start = ENTITY_START.exec(line);
    if (start) {
      entity = start[1]!;
      if (model.tables[entity]) throw new Error(`${where}: entity ${entity} listed twice`);
      model.tables[entity] = {};
      return;
    }
    const relationship = RELATIONSHIP.exec(line);
    if (relationship) {
      const [, parent, , , child, quoted, bare] = relationship;
      model.foreignKeys.push({ table: child!, column: (quoted ?? bare)!, references: parent! });
      return;
    }
    throw new Error(`${where}: neither an entity, a column nor a relationship`);
  });
  if (entity !== null) throw new Error(`erDiagram: entity ${String(entity)} is not closed`);
  return model;
}

interface ColumnRow {
  TABLE_NAME: string;
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  CHARACTER_MAXIMUM_LENGTH: string | number | null;
  DATETIME_PRECISION: string | number | null;
  NUMERIC_PRECISION: string | number | null;
  NUMERIC_SCALE: string | number | null;
}

interface KeyRow {
  TABLE_NAME: string;
  COLUMN_NAME: string;
  CONSTRAINT_NAME: string;
  CONSTRAINT_TYPE: 'PRIMARY KEY' | 'UNIQUE' | 'FOREIGN KEY';
  REFERENCED_TABLE_NAME: string | null;
}

/** The ERD spelling of a column type: `CHAR(36)`, `DATETIME(3)`, `TINYINT_UNSIGNED`, `ENUM`, `JSON`. */
function erdType(row: ColumnRow, jsonColumns: Set<string>): string {
  const data = row.DATA_TYPE.toUpperCase();
  // MariaDB stores JSON as LONGTEXT with a json_valid() check; MySQL reports json.
  if (data === 'JSON' || jsonColumns.has(`${row.TABLE_NAME}.${row.COLUMN_NAME}`)) return 'JSON';
  if (data === 'ENUM' || data === 'SET') return data;
  let type = data;
  if (['CHAR', 'VARCHAR', 'BINARY', 'VARBINARY'].includes(data)) type = `${data}(${row.CHARACTER_MAXIMUM_LENGTH})`;
  else if (['DATETIME', 'TIMESTAMP', 'TIME'].includes(data) && Number(row.DATETIME_PRECISION) > 0)
    type = `${data}(${row.DATETIME_PRECISION})`;
  else if (data === 'DECIMAL') type = `DECIMAL(${row.NUMERIC_PRECISION},${row.NUMERIC_SCALE})`;
  if (/\bunsigned\b/i.test(row.COLUMN_TYPE)) type += '_UNSIGNED';
  return type;
}

/**
 * The live schema of the DataSource's database as an ErdModel, read from information_schema.
 * TypeORM's own `migrations` table is left out.
 */
export async function readSchema(dataSource: DataSource): Promise<ErdModel> {
  const [{ db }] = await dataSource.query<[{ db: string }]>('SELECT DATABASE() AS db');
  const columns = await dataSource.query<ColumnRow[]>(
    `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, DATETIME_PRECISION,
            NUMERIC_PRECISION, NUMERIC_SCALE
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> 'migrations'
      ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    [db],
  );
  const keys = await dataSource.query<KeyRow[]>(
    `SELECT k.TABLE_NAME, k.COLUMN_NAME, k.CONSTRAINT_NAME, c.CONSTRAINT_TYPE, k.REFERENCED_TABLE_NAME
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.TABLE_CONSTRAINTS c
         ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME
        AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME
      WHERE k.TABLE_SCHEMA = ? AND k.TABLE_NAME <> 'migrations'
      ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [db],
  );
  const referential = await dataSource.query<
    Array<{ TABLE_NAME: string; CONSTRAINT_NAME: string; REFERENCED_TABLE_NAME: string }>
  >(
    `SELECT TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME
       FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
    [db],
  );
  const jsonChecks = await dataSource.query<Array<{ TABLE_NAME: string; CHECK_CLAUSE: string }>>(
    `SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
    [db],
  );
  const jsonColumns = new Set(
    jsonChecks.flatMap(({ TABLE_NAME, CHECK_CLAUSE }) => {
      const m = /^json_valid\(`([^`]+)`\)$/.exec(CHECK_CLAUSE.trim());
      return m ? [`${TABLE_NAME}.${m[1]}`] : [];
    }),
  );

  const model: ErdModel = { tables: {}, foreignKeys: [] };
  for (const row of columns) {
    model.tables[row.TABLE_NAME] ??= {};
    model.tables[row.TABLE_NAME]![row.COLUMN_NAME] = { type: erdType(row, jsonColumns), keys: [] };
  }
  const marker: Record<KeyRow['CONSTRAINT_TYPE'], KeyMarker> = {
    'PRIMARY KEY': 'PK',
    UNIQUE: 'UK',
    'FOREIGN KEY': 'FK',
  };
  const fkColumns = new Map<string, string[]>();
  for (const row of keys) {
    const column = model.tables[row.TABLE_NAME]?.[row.COLUMN_NAME];
    if (column) column.keys = sortKeys([...column.keys, marker[row.CONSTRAINT_TYPE]]);
    if (row.CONSTRAINT_TYPE === 'FOREIGN KEY') {
      const id = `${row.TABLE_NAME}\u0000${row.CONSTRAINT_NAME}`;
      fkColumns.set(id, [...(fkColumns.get(id) ?? []), row.COLUMN_NAME]);
    }
  }
  for (const fk of referential) {
    const columnsOfFk = fkColumns.get(`${fk.TABLE_NAME}\u0000${fk.CONSTRAINT_NAME}`) ?? [];
    model.foreignKeys.push({
      table: fk.TABLE_NAME,
      column: columnsOfFk.join(', '),
      references: fk.REFERENCED_TABLE_NAME,
    });
  }
  return model;
}

const fkText = (fk: ErdForeignKey): string => `${fk.table}.${fk.column} → ${fk.references}`;
const keysText = (keys: KeyMarker[]): string => (keys.length ? keys.join(', ') : 'none');

/**
 * Every difference between the ERD (`doc`) and the live schema, one sentence each; empty when they
 * agree on tables, columns (type and key markers) and foreign keys.
 */
export function compareErd(doc: ErdModel, schema: ErdModel): string[] {
  const diffs: string[] = [];
  const tables = [...new Set([...Object.keys(doc.tables), ...Object.keys(schema.tables)])].sort();
  for (const table of tables) {
    const documented = doc.tables[table];
    const actual = schema.tables[table];
    if (!documented || !actual) {
      diffs.push(
        `table ${table}: ${documented ? 'in docs/erd.md but not in the schema' : 'in the schema but not in docs/erd.md'}`,
      );
      continue;
    }
    const columns = [...new Set([...Object.keys(actual), ...Object.keys(documented)])];
    for (const name of columns) {
      const d = documented[name];
      const a = actual[name];
      if (!d || !a) {
        diffs.push(
          `column ${table}.${name}: ${d ? 'in docs/erd.md but not in the schema' : 'in the schema but not in docs/erd.md'}`,
        );
        continue;
      }
      if (d.type !== a.type)
        diffs.push(`column ${table}.${name}: type ${d.type} in docs/erd.md, ${a.type} in the schema`);
      if (keysText(d.keys) !== keysText(a.keys)) {
        diffs.push(
          `column ${table}.${name}: keys ${keysText(d.keys)} in docs/erd.md, ${keysText(a.keys)} in the schema`,
        );
      }
    }
  }
  const documentedFks = new Set(doc.foreignKeys.map(fkText));
  const actualFks = new Set(schema.foreignKeys.map(fkText));
  for (const fk of [...actualFks].filter((f) => !documentedFks.has(f)).sort()) {
    diffs.push(`foreign key ${fk}: in the schema but not in docs/erd.md`);
  }
  for (const fk of [...documentedFks].filter((f) => !actualFks.has(f)).sort()) {
    diffs.push(`foreign key ${fk}: in docs/erd.md but not in the schema`);
  }
  return diffs;
}

/**
 * Contradictions inside the ERD itself: a relationship whose column is not in its entity, is not
 * marked FK or has a second relationship line, and an FK marker without a relationship line.
 */
export function checkErdConsistency(doc: ErdModel): string[] {
  const problems: string[] = [];
  const related = new Set<string>();
  for (const fk of doc.foreignKeys) {
    for (const column of fk.column.split(/\s*,\s*/)) {
      if (related.has(`${fk.table}.${column}`))
        problems.push(`relationship ${fkText(fk)}: ${fk.table}.${column} has two`);
      related.add(`${fk.table}.${column}`);
      const entry = doc.tables[fk.table]?.[column];
      if (!doc.tables[fk.references]) problems.push(`relationship ${fkText(fk)}: no entity ${fk.references}`);
      if (!entry) problems.push(`relationship ${fkText(fk)}: no column ${fk.table}.${column}`);
      else if (!entry.keys.includes('FK'))
        problems.push(`relationship ${fkText(fk)}: ${fk.table}.${column} is not marked FK`);
    }
  }
  for (const [table, columns] of Object.entries(doc.tables)) {
    for (const [name, column] of Object.entries(columns)) {
      if (column.keys.includes('FK') && !related.has(`${table}.${name}`)) {
        problems.push(`column ${table}.${name}: marked FK but no relationship line names it`);
      }
    }
  }
  return problems;
}
