/**
 * The ceilings of this box: a bare Express app whose routes each do exactly one thing our
 * endpoints also have to do, with no validation, tokens or workflows. `npm run bench` starts
 * two of these processes (like the two api processes) and loads them.
 *
 * - `POST /noop`   parses a JSON body and answers JSON: Express alone.
 * - `POST /zadd`   one Redis ZADD of a fresh member (what a token request adds to the line).
 * - `POST /locked` one locked single-row update in a MySQL transaction
 *                  (`SELECT … FOR UPDATE` + `UPDATE`), on row `?row=<n>`.
 *
 * With CEILING_KIND=http it is instead a bare Node HTTP server (no Express, no I/O) that reads
 * each request's body and answers a small JSON: what the load client reaches at all.
 *
 * Env: PORT, REDIS_URL, DATABASE_URL (a database holding the `ceiling_rows` table), POOL_SIZE, CEILING_KIND.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import express from 'express';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { createRedis } from '../src/redis/client';

/** Rows the locked-update route spreads over; row ids are 1..CEILING_ROWS. */
export const CEILING_ROWS = 1000;

/** Creates (or refills) the table the `/locked` route updates. */
export async function prepareCeilingTable(databaseUrl: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    await conn.query(
      'CREATE TABLE IF NOT EXISTS ceiling_rows (id INT NOT NULL PRIMARY KEY, counter BIGINT NOT NULL DEFAULT 0) ENGINE=InnoDB',
    );
    const values = Array.from({ length: CEILING_ROWS }, (_, i) => `(${i + 1}, 0)`).join(',');
    await conn.query(`INSERT INTO ceiling_rows (id, counter) VALUES ${values} ON DUPLICATE KEY UPDATE counter = 0`);
  } finally {
    await conn.end();
  }
}

function bareHttp(port: number): void {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 0);
  if (process.env.CEILING_KIND === 'http') return bareHttp(port);
  // The same client settings as the api, so the ceiling is the api's Redis path minus our code.
  const redis = createRedis({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, 'bench-ceiling');
  const pool = mysql.createPool({
    uri: process.env.DATABASE_URL!,
    connectionLimit: Number(process.env.POOL_SIZE ?? 20),
  });
  const zsetKey = `bench:ceiling:${process.pid}:${randomUUID().slice(0, 8)}`;
  let seq = 0;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.post('/noop', express.json(), (_req, res) => {
    seq += 1;
    res.status(201).json({ ok: true, seq });
  });
  app.post('/zadd', async (_req, res) => {
    seq += 1;
    await redis.zadd(zsetKey, seq, `${process.pid}:${seq}`);
    res.status(201).json({ ok: true, seq });
  });
  app.post('/locked', async (req, res) => {
    const row = Number(req.query.row ?? 1);
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const [rows] = await conn.query<RowDataPacket[]>('SELECT counter FROM ceiling_rows WHERE id = ? FOR UPDATE', [
        row,
      ]);
      await conn.query('UPDATE ceiling_rows SET counter = ? WHERE id = ?', [Number(rows[0]?.counter ?? 0) + 1, row]);
      await conn.commit();
      res.json({ ok: true });
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  });
  const server = app.listen(port, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
  });
  server.keepAliveTimeout = 65_000;
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    void redis
      .del(zsetKey)
      .catch(() => undefined)
      .finally(() => {
        redis.disconnect();
        void pool.end().finally(() => process.exit(0));
      });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
