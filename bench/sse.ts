/**
 * The waiting page's stream at scale: 1,000 buyers follow their place in line over
 * `GET /v1/queue/tokens/current/events` on ONE api process at once. Checks that every stream
 * gets its first event and, once the line moves, a later event with a lower position (or
 * ACTIVE), and reports how long that took and what the api process used.
 *
 *   node --import tsx bench/sse.ts [--clients=1000] [--admit=100]
 *
 * Starts its own in-memory Temporal dev server, one api and one worker process, on a fresh
 * database and Redis prefix; stops and drops everything at the end.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { freePort, startTemporalDevServer } from '../scripts/provision';
import { searchAttributeFlags } from '../src/shared/search-attributes';
import { testConfig } from '../scripts/lib/config';
import { createTestDatabase } from '../scripts/lib/db';
import { createTestRedis } from '../scripts/lib/redis';
import { ensureWorkflowBundle } from '../scripts/lib/dev-server';

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
};
const CLIENTS = arg('clients', 1000);
const ADMIT_PER_SECOND = arg('admit', 100);
const say = (msg: string): void => {
  process.stderr.write(`[sse] ${msg}\n`);
};

interface View {
  status: string;
  position: number;
}

interface Stream {
  userId: string;
  token: string;
  openedAt: number;
  first?: { at: number; view: View };
  moved?: { at: number; view: View };
  events: number;
  error?: string;
}

const pct = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), max: s[s.length - 1] ?? NaN };
};

/** Resident memory (MB) and CPU seconds so far of a process, from /proc. */
function usage(pid: number): { rssMb: number; cpuSeconds: number } {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMb: Math.round(Number(rss?.[1] ?? 0) / 1024), cpuSeconds: ticks / 100 };
}

async function main(): Promise<void> {
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    process.env.TEST_LOG_DIR ??= '/tmp/concert-sse-bench-logs';
    const { startStack } = await import('../scripts/lib/stack');
    const work = mkdtempSync(path.join(os.tmpdir(), 'concert-sse-'));
    cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
    await ensureWorkflowBundle(work);
    const port = await freePort();
    say('starting a Temporal dev server (in memory)…');
    const temporal = await startTemporalDevServer({ port, searchAttributes: searchAttributeFlags });
    cleanups.push(async () => temporal.kill('SIGTERM'));
    const db = await createTestDatabase(undefined, 5);
    cleanups.push(() => db.drop());
    const config = testConfig({
      databaseUrl: db.url,
      temporalAddress: `127.0.0.1:${port}`,
      queueMaxActive: CLIENTS + 10,
    });
    const r = createTestRedis(config.redisKeyPrefix);
    cleanups.push(() => r.cleanup());
    say('starting one api and one worker process…');
    const stack = await startStack(config, { apis: 1, workers: 1 });
    cleanups.unshift(() => stack.stop());
    const url = stack.urls[0]!;
    const apiPid = stack.apis[0]!.child.pid!;
    const dispatcher = new Agent({ connections: null, pipelining: 0, keepAliveTimeout: 60_000 });
    cleanups.unshift(() => dispatcher.close());

    const json = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await request(`${url}${path}`, {
        method: method as 'GET',
        dispatcher,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.body.text();
      if (res.statusCode >= 400) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
      return { status: res.statusCode, body: JSON.parse(text) as T };
    };
    const admin = { 'x-admin-key': config.adminApiKey };

    // The line holds still while everyone enters and connects.
    await json('PATCH', '/v1/admin/queue', { paused: true }, admin);
    say(`entering ${CLIENTS} users into the line…`);
    const streams: Stream[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < CLIENTS) {
          next++;
          const userId = randomUUID();
          const id = await json<{ identityToken: string }>('POST', '/v1/dev/identity', { userId });
          const auth = { authorization: `Bearer ${id.body.identityToken}` };
          const { body } = await json<{ token: string }>('POST', '/v1/queue/tokens', { userId }, auth);
          streams.push({ userId, token: body.token, openedAt: 0, events: 0 });
        }
      }),
    );

    const before = usage(apiPid);
    say(`opening ${CLIENTS} event streams at once…`);
    const aborts = new AbortController();
    setMaxListeners(CLIENTS + 10, aborts.signal);
    const t0 = Date.now();
    const readers = streams.map(async (s) => {
      s.openedAt = Date.now();
      try {
        const res = await request(`${url}/v1/queue/tokens/current/events`, {
          dispatcher,
          signal: aborts.signal,
          headers: { authorization: `Bearer ${s.token}`, accept: 'text/event-stream' },
        });
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
        let buffer = '';
        for await (const chunk of res.body) {
          buffer += (chunk as Buffer).toString('utf8');
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!data) continue;
            const view = JSON.parse(data) as View;
            s.events++;
            if (!s.first) s.first = { at: Date.now(), view };
            else if (!s.moved && (view.status !== 'WAITING' || view.position < s.first.view.position)) {
              s.moved = { at: Date.now(), view };
            }
          }
        }
      } catch (err) {
        if (!aborts.signal.aborted) s.error = String(err);
      }
    });

    const waitFor = async (what: string, ms: number, done: () => boolean): Promise<boolean> => {
      const deadline = Date.now() + ms;
      while (!done() && Date.now() < deadline) await delay(50);
      if (!done()) say(`timed out waiting for ${what}`);
      return done();
    };
    await waitFor('every first event', 60_000, () => streams.every((s) => s.first || s.error));
    const allFirstMs = Date.now() - t0;
    const connected = usage(apiPid);

    say(`resuming the line at ${ADMIT_PER_SECOND}/s; every stream should see its position fall…`);
    const t1 = Date.now();
    await json('PATCH', '/v1/admin/queue', { paused: false, admitPerSecond: ADMIT_PER_SECOND }, admin);
    await waitFor('every position change', 120_000, () => streams.every((s) => s.moved || s.error));
    const allMovedMs = Date.now() - t1;
    const after = usage(apiPid);
    aborts.abort();
    await Promise.allSettled(readers);

    const firstMs = streams.flatMap((s) => (s.first ? [s.first.at - s.openedAt] : []));
    const movedMs = streams.flatMap((s) => (s.moved ? [s.moved.at - t1] : []));
    const result = {
      clients: CLIENTS,
      firstEvent: { received: firstMs.length, ms: summary(firstMs), allWithinMs: allFirstMs },
      positionChange: { received: movedMs.length, msAfterResume: summary(movedMs), allWithinMs: allMovedMs },
      events: streams.reduce((n, s) => n + s.events, 0),
      errors: streams.filter((s) => s.error).length,
      firstError: streams.find((s) => s.error)?.error ?? null,
      api: {
        rssMbBefore: before.rssMb,
        rssMbConnected: connected.rssMb,
        rssMbEnd: after.rssMb,
        cpuSecondsConnecting: +(connected.cpuSeconds - before.cpuSeconds).toFixed(2),
        cpuSecondsWhileMoving: +(after.cpuSeconds - connected.cpuSeconds).toFixed(2),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    const ok = result.firstEvent.received === CLIENTS && result.positionChange.received === CLIENTS;
    say(ok ? `PASS: all ${CLIENTS} streams got their first event and a position change` : 'FAIL');
    process.exitCode = ok ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => say(`cleanup: ${String(err)}`));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
