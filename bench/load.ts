/**
 * The load process: `node --import tsx bench/load.ts <job.json> <result.json>`. `npm run
 * bench` runs every scenario in a fresh one of these, apart from the service's processes,
 * so its CPU is measured on its own. Fixed-shape request streams go through autocannon;
 * the on-sale flows (look, hold, top up, pay) through Node's fetch (undici).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import autocannon from 'autocannon';
import { ServiceApi } from '../scripts/lib/api';
import type { SeatRef } from '../scripts/lib/api';
import { chargeWinners, holdEach, payWins, sellOut } from '../scripts/lib/flows';
import type { Win } from '../scripts/lib/flows';
import { Recorder, call, pool } from '../scripts/lib/http';
import type { BenchUser } from '../scripts/lib/http';
import type { Sample } from '../scripts/lib/stats';

/** One request shape; `{seq}` in a header value or the body becomes a number unique in the run. */
export interface CannonItem {
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** An autocannon run: `amount` requests, or as many as `durationS` allows. */
export interface CannonSpec {
  op: string;
  urls: string[];
  method: 'GET' | 'POST';
  items: CannonItem[];
  /** `next` walks the items in order (each used once while amount ≤ items), `random` picks any. */
  pick: 'next' | 'random';
  connections: number;
  amount?: number;
  durationS?: number;
  /** Keep every answer's body (e.g. issued tokens). */
  capture?: boolean;
  timeoutS?: number;
}

export type LoadJob =
  | { kind: 'cannon'; specs: CannonSpec[] }
  | {
      kind: 'seatmap';
      read: CannonSpec;
      probe: { urls: string[]; adminKey: string; user: BenchUser; concertId: string; date: string; seats: number[] };
    }
  | {
      kind: 'sellout';
      urls: string[];
      adminKey: string;
      users: BenchUser[];
      concertId: string;
      date: string;
      deadlineMs: number;
    }
  | {
      kind: 'payments';
      urls: string[];
      adminKey: string;
      pairs: Array<{ user: BenchUser; seat: SeatRef }>;
      price: number;
      holdConcurrency: number;
    }
  | {
      /** The Temporal ceiling: bare workflows started and awaited, then bare updates, `connections` at a time. */
      kind: 'temporal';
      address: string;
      namespace: string;
      taskQueue: string;
      connections: number;
      durationS: number;
    }
  | {
      /** Payments fired around each hold's heldUntil, evenly from −spreadMs to +spreadMs. */
      kind: 'edge';
      urls: string[];
      adminKey: string;
      pairs: Array<{ user: BenchUser; seat: SeatRef }>;
      price: number;
      spreadMs: number;
    }
  | {
      kind: 'release';
      urls: string[];
      adminKey: string;
      pairs: Array<{ user: BenchUser; seat: SeatRef }>;
      holdConcurrency: number;
      pollMs: number;
      deadlineMs: number;
    };

export interface LoadResult {
  /** CPU this load process used from the start of the load to its end, in ms. */
  cpuMs: number;
  samples: Record<string, Sample[]>;
  /** Wall time of each phase (seconds), for throughputs over a phase. */
  phaseSeconds: Record<string, number>;
  /** Answers by spec op, when `capture` was set. */
  captured?: Record<string, Array<{ status: number; body: unknown }>>;
  extra: Record<string, unknown>;
}

const say = (msg: string): void => {
  process.stdout.write(`${msg}\n`);
};

function runCannon(spec: CannonSpec, rec: Recorder, captured: LoadResult['captured']): Promise<number> {
  let seq = 0;
  let done = 0;
  const keep = spec.capture ? ((captured ?? {})[spec.op] ??= []) : undefined;
  const timeoutS = spec.timeoutS ?? 30;
  const fill = (s: string, n: number): string => s.replace(/\{seq\}/g, String(n));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Set after autocannon() returns; its callback may run synchronously on a bad option.
    const ticker: { id?: NodeJS.Timeout } = {};
    const instance = autocannon(
      {
        url: spec.urls,
        connections: spec.connections,
        // autocannon treats a key that is present but undefined as invalid.
        ...(spec.amount !== undefined ? { amount: spec.amount } : {}),
        ...(spec.durationS !== undefined ? { duration: spec.durationS } : {}),
        timeout: timeoutS,
        requests: [
          {
            setupRequest: (req) => {
              const n = seq++;
              const idx =
                spec.pick === 'random' ? Math.floor(Math.random() * spec.items.length) : n % spec.items.length;
              const item = spec.items[idx]!;
              const headers: Record<string, string> = { ...req.headers };
              for (const [k, v] of Object.entries(item.headers ?? {})) headers[k] = fill(v, n);
              if (item.body !== undefined) headers['content-type'] = 'application/json';
              return {
                ...req,
                method: spec.method,
                path: item.path,
                headers,
                body: item.body === undefined ? undefined : fill(item.body, n),
              };
            },
            onResponse: keep
              ? (status, body) => {
                  let parsed: unknown = body;
                  try {
                    parsed = JSON.parse(body);
                  } catch {
                    // keep the raw text
                  }
                  keep.push({ status, body: parsed });
                }
              : undefined,
          },
        ],
      },
      (err) => {
        clearInterval(ticker.id);
        if (err) reject(err);
        else resolve((performance.now() - started) / 1000);
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      done++;
      rec.add(spec.op, rec.now() - ms, ms, status);
    });
    instance.on('reqError', (err: Error) => {
      done++;
      // A timeout took the whole timeout; a refused or reset connection failed at once.
      const ms = /timed out/.test(err.message) ? timeoutS * 1000 : 0;
      rec.add(spec.op, rec.now() - ms, ms, 0);
    });
    ticker.id = setInterval(() => say(`  ${spec.op}: ${done} answered`), 2_000);
  });
}

async function main(): Promise<void> {
  const [jobFile, outFile] = process.argv.slice(2);
  if (!jobFile || !outFile) throw new Error('usage: load.ts <job.json> <result.json>');
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as LoadJob;
  const rec = new Recorder();
  const result: LoadResult = { cpuMs: 0, samples: rec.samples, phaseSeconds: {}, extra: {} };
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const out = await fn();
    result.phaseSeconds[name] = Math.round(performance.now() - t) / 1000;
    return out;
  };

  say('@start');
  const cpuAtStart = process.cpuUsage();
  switch (job.kind) {
    case 'cannon': {
      result.captured = {};
      const rounds: number[] = [];
      for (const spec of job.specs) rounds.push(await runCannon(spec, rec, result.captured));
      result.extra.roundSeconds = rounds;
      for (const spec of job.specs) {
        result.phaseSeconds[spec.op] = Math.round(rounds.reduce((a, b) => a + b, 0) * 1000) / 1000;
      }
      break;
    }
    case 'seatmap': {
      const api = new ServiceApi(job.probe.urls, job.probe.adminKey, rec);
      let reading = true;
      let probes = 0;
      let stale = 0;
      const probe = async (): Promise<void> => {
        for (const seatNo of job.probe.seats) {
          if (!reading) return;
          const seat = { concertId: job.probe.concertId, date: job.probe.date, seatNo };
          const held = await api.hold(job.probe.user.token, seat, 0, 'freshness probe: hold');
          if (held.status !== 201) continue;
          // Read through the other api process: a cache local to one process would show up here.
          const map = await api.seats(job.probe.user.token, seat.concertId, seat.date, 1, 'freshness probe: read');
          probes++;
          if (map.status !== 200 || map.body.seats.some((s) => s.seatNo === seatNo)) stale++;
          // Given back at once, so the prober never reaches MAX_HOLDS_PER_USER (a later scenario probes again).
          await api.cancel(job.probe.user.token, held.body.reservationId, 0, 'freshness probe: cancel');
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const probing = probe();
      result.phaseSeconds[job.read.op] = await runCannon(job.read, rec, undefined);
      reading = false;
      await probing;
      result.extra = { freshnessProbes: probes, staleReads: stale };
      break;
    }
    case 'sellout': {
      const api = new ServiceApi(job.urls, job.adminKey, rec);
      const race = await phase('race', () =>
        sellOut({
          api,
          users: job.users,
          concertId: job.concertId,
          date: job.date,
          deadlineMs: job.deadlineMs,
          onWin: (n) => {
            if (n % 10 === 0) say(`  ${n} seats held`);
          },
        }),
      );
      say(`  race over: ${race.wins.length} winners after ${race.attempts} hold attempts; charging and paying…`);
      const charges = await phase('charge', () => chargeWinners(api, race.wins, 60_000));
      const paid = await phase('pay', () => payWins(api, race.wins, 60_000));
      result.extra = {
        wins: race.wins.map((w) => ({ ...w.reservation, userId: w.user.userId })),
        attempts: race.attempts,
        soldOutSeen: race.soldOutSeen,
        unexpected: race.unexpected,
        chargeStatuses: tally(charges),
        payStatuses: tally(paid.map((p) => p.status)),
        payRetries: paid.reduce((a, p) => a + p.attempts - 1, 0),
        payments: paid.filter((p) => p.payment).map((p) => p.payment),
      };
      break;
    }
    case 'payments': {
      const api = new ServiceApi(job.urls, job.adminKey, rec);
      const topUps = await phase('charge (setup)', () =>
        pool(
          job.pairs,
          100,
          async ({ user }, i) => (await api.charge(user, job.price, `topup-${user.userId}`, i)).status,
        ),
      );
      const holds = await phase('hold (own seat)', () => holdEach(api, job.pairs, job.holdConcurrency));
      const wins: Win[] = [];
      holds.forEach((h, index) => {
        if (h.reservation) wins.push({ user: job.pairs[index]!.user, index, reservation: h.reservation });
      });
      say(`  ${wins.length} seats held; paying all of them at once…`);
      const paid = await phase('pay', () => payWins(api, wins, 120_000));
      result.extra = {
        topUpStatuses: tally(topUps),
        holdStatuses: tally(holds.map((h) => h.status)),
        payStatuses: tally(paid.map((p) => p.status)),
        payRetries: paid.reduce((a, p) => a + p.attempts - 1, 0),
        payments: paid.filter((p) => p.payment).map((p) => p.payment),
      };
      break;
    }
    case 'temporal': {
      const connection = await Connection.connect({ address: job.address });
      const client = new Client({ connection, namespace: job.namespace });
      const lanes = (op: string, fn: (lane: number) => Promise<void>): Promise<void> =>
        phase(op, async () => {
          const until = performance.now() + job.durationS * 1000;
          await Promise.all(
            Array.from({ length: job.connections }, async (_, lane) => {
              while (performance.now() < until) {
                const t = rec.now();
                let status = 200;
                try {
                  await fn(lane);
                } catch {
                  status = 0;
                }
                rec.add(op, t, rec.now() - t, status);
              }
            }),
          );
        });
      const run = randomUUID().slice(0, 8);
      let n = 0;
      await lanes('workflow start+complete', async () => {
        await client.workflow.execute('bareWorkflow', { taskQueue: job.taskQueue, workflowId: `bare-${run}-${n++}` });
      });
      const handles = await Promise.all(
        Array.from({ length: job.connections }, (_, lane) =>
          client.workflow.start('pingWorkflow', { taskQueue: job.taskQueue, workflowId: `ping-${run}-${lane}` }),
        ),
      );
      await lanes('update round trip', async (lane) => {
        await handles[lane]!.executeUpdate('ping', { args: [lane] });
      });
      await Promise.all(handles.map((h) => h.signal('done').catch(() => undefined)));
      await connection.close();
      break;
    }
    case 'edge': {
      const api = new ServiceApi(job.urls, job.adminKey, rec);
      await pool(job.pairs, 20, ({ user }, i) => api.charge(user, job.price, `edge-topup-${user.userId}`, i));
      const n = job.pairs.length;
      // Each payment is scheduled as soon as its own hold is answered, so early holds do not lapse unpaid.
      const fired = await Promise.all(
        job.pairs.map(async ({ user, seat }, i) => {
          const [h] = await holdEach(api, [{ user, seat }], 1, 'hold (edge setup)');
          if (!h?.reservation) return { offsetMs: NaN, sentMinusHeldUntil: NaN, status: -(h?.status ?? 0) };
          const heldUntil = Date.parse(h.reservation.heldUntil);
          const offsetMs = n > 1 ? Math.round(-job.spreadMs + (2 * job.spreadMs * i) / (n - 1)) : 0;
          await new Promise((r) => setTimeout(r, Math.max(0, heldUntil + offsetMs - Date.now())));
          const sentAt = Date.now();
          const res = await api.pay(
            user.token,
            h.reservation.reservationId,
            `edge-${h.reservation.reservationId}`,
            i,
            'pay (at the edge)',
          );
          return { offsetMs, sentMinusHeldUntil: sentAt - heldUntil, status: res.status };
        }),
      );
      result.extra = { payments: fired };
      break;
    }
    case 'release': {
      const api = new ServiceApi(job.urls, job.adminKey, rec);
      // The seat maps are watched from the start, so early holds that lapse while later ones
      // are still being taken are seen too. Each snapshot: when it was answered, which seats were free.
      const performances = [...new Set(job.pairs.map((p) => `${p.seat.concertId}/${p.seat.date}`))];
      const snapshots = new Map<string, Array<{ at: number; free: Set<number> }>>();
      const viewer = job.pairs[0]!.user;
      let watching = true;
      const watcher = Promise.all(
        performances.map(async (perf, k) => {
          const [concertId, date] = perf.split('/');
          const list: Array<{ at: number; free: Set<number> }> = [];
          snapshots.set(perf, list);
          for (let i = k; watching; i++) {
            const map = await call<{ seats: Array<{ seatNo: number }> }>(
              job.urls[i % job.urls.length]!,
              'GET',
              `/v1/concerts/${concertId}/dates/${date}/seats`,
              { token: viewer.token },
            );
            if (map.status === 200) list.push({ at: Date.now(), free: new Set(map.body.seats.map((s) => s.seatNo)) });
            await new Promise((res) => setTimeout(res, job.pollMs));
          }
        }),
      );
      const holds = await phase('hold (own seat)', () => holdEach(api, job.pairs, job.holdConcurrency));
      const held = holds.flatMap((h) =>
        h.reservation ? [{ ...h.reservation, answeredAt: h.answeredAt ?? Date.now() }] : [],
      );
      say(`  ${held.length} seats held; watching the seat maps until they are free again…`);
      const firstFree: Record<string, number> = {};
      const deadline = Date.now() + job.deadlineMs;
      for (;;) {
        for (const r of held) {
          if (firstFree[r.reservationId] !== undefined) continue;
          const seen = snapshots
            .get(`${r.concertId}/${r.date}`)
            ?.find((s) => s.at > r.answeredAt && s.free.has(r.seatNo));
          if (seen) firstFree[r.reservationId] = seen.at;
        }
        if (held.every((r) => firstFree[r.reservationId] !== undefined) || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      watching = false;
      await watcher;
      result.extra = {
        holdStatuses: tally(holds.map((h) => h.status)),
        reservations: held.map((r) => ({ reservationId: r.reservationId, heldUntil: r.heldUntil, seatNo: r.seatNo })),
        firstFreeInSeatMap: firstFree,
      };
      break;
    }
  }
  const cpu = process.cpuUsage(cpuAtStart);
  result.cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  writeFileSync(outFile, JSON.stringify(result));
}

function tally(statuses: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statuses) out[String(s)] = (out[String(s)] ?? 0) + 1;
  return out;
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
