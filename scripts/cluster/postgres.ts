/**
 * PostgreSQL 15 from Debian for Temporal's persistence and visibility stores: started with
 * `pg_ctlcluster` (no systemd here), with a role and the two databases Temporal uses.
 */
import { existsSync } from 'node:fs';
import { portOpen, waitForPort } from '../provision';
import type { Started } from '../provision';
import { aptInstall, capture, run, say } from './proc';

export const PG_VERSION = '15';
const PG_CLUSTER = 'main';

/** Where Temporal finds PostgreSQL and as whom it logs in. */
export interface PostgresSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  databases: readonly string[];
}

function psql(sql: string, port: number): string {
  const r = capture('runuser', [
    '-u',
    'postgres',
    '--',
    'psql',
    '-p',
    String(port),
    '-v',
    'ON_ERROR_STOP=1',
    '-tAc',
    sql,
  ]);
  if (!r.ok) throw new Error(`psql failed: ${r.out.trim()}`);
  return r.out.trim();
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/**
 * Makes sure PostgreSQL answers on `settings.port` (installing and starting the Debian
 * cluster when it does not) and that the role and databases exist.
 */
export async function ensurePostgres(settings: PostgresSettings): Promise<Started> {
  let result: Started = { started: false, stop: async () => undefined };
  if (!(await portOpen(settings.host, settings.port))) {
    if (!existsSync('/usr/bin/pg_ctlcluster') || !existsSync(`/usr/lib/postgresql/${PG_VERSION}/bin/postgres`)) {
      aptInstall([`postgresql-${PG_VERSION}`, `postgresql-client-${PG_VERSION}`]);
    }
    if (
      !capture('pg_lsclusters', ['-h'])
        .out.split('\n')
        .some((l) => l.startsWith(`${PG_VERSION} ${PG_CLUSTER} `))
    ) {
      say(`creating the PostgreSQL ${PG_VERSION} cluster "${PG_CLUSTER}"…`);
      run('pg_createcluster', [PG_VERSION, PG_CLUSTER, '--port', String(settings.port)]);
    }
    say(`starting PostgreSQL ${PG_VERSION} on 127.0.0.1:${settings.port} (pg_ctlcluster)…`);
    run('pg_ctlcluster', [PG_VERSION, PG_CLUSTER, 'start']);
    await waitForPort(settings.host, settings.port, 60_000);
    result = {
      started: true,
      stop: async () => {
        say('stopping PostgreSQL');
        run('pg_ctlcluster', [PG_VERSION, PG_CLUSTER, 'stop', '-m', 'fast']);
      },
    };
  }
  ensureRoleAndDatabases(settings);
  return result;
}

function ensureRoleAndDatabases(settings: PostgresSettings): void {
  if (process.getuid?.() !== 0) return; // not root: the operator created them (README)
  const { user, password, port } = settings;
  if (psql(`SELECT 1 FROM pg_roles WHERE rolname = ${literal(user)}`, port) !== '1') {
    say(`creating the PostgreSQL role ${user}`);
    psql(`CREATE ROLE ${ident(user)} LOGIN PASSWORD ${literal(password)}`, port);
  }
  for (const db of settings.databases) {
    if (psql(`SELECT 1 FROM pg_database WHERE datname = ${literal(db)}`, port) !== '1') {
      say(`creating the PostgreSQL database ${db}`);
      psql(`CREATE DATABASE ${ident(db)} OWNER ${ident(user)}`, port);
    }
  }
}
