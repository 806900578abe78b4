/**
 * Fault drills on the cluster profile (`npm run drill -- --profile=cluster`), on the framework
 * of drills.ts: the same stack of api and worker processes, the same invariants read from
 * MySQL, but the parts that fail are the cluster's own: the Temporal history service and one
 * Redis Cluster master.
 */
import { randomUUID } from 'node:crypto';
import { createRedis } from '../../src/redis/client';
import { redisKeys } from '../../src/redis/keys';
import { moneyCheck, moneyTotals, paymentsPresent, seatChecks, seatStatuses } from './checks';
import { chargeWinners, holdEach, payWins, sellOut } from './flows';
import type { PayOutcome, Win } from './flows';
import type { Answer, BenchUser } from './http';
import type { Check } from './checks';
import { distribution } from './stats';
import {
  PRICE,
  activeUsers,
  dateFor,
  lateNumbers,
  noStaleHolds,
  payOutcomesConsistent,
  sellOutChecks,
  tally,
  waitReleased,
} from './drills';
import type { DrillResult, DrillSize, DrillStack } from './drills';
import { sleep, until } from './wait';

/** What the drills need of the cluster's Temporal services (scripts/cluster/temporal.ts). */
export interface RestartableTemporal {
  restart(service: 'history', opts?: { kill?: boolean }): Promise<{ pid: number }>;
  processes: { history: { pid: number } };
}

/** What the drills need of the Redis Cluster (scripts/cluster/redis-cluster.ts). */
export interface KillableRedisCluster {
  nodes: string[];
  kill(port: number): Promise<void>;
  restart(port: number): Promise<void>;
}

// ---------------------------------------------------------------- history service killed

/**
 * kill -9 the Temporal history service in the middle of a sell-out (winners pay as they win)
 * and start it again: every unpaid hold is still released by its timer, no seat is sold twice,
 * no acknowledged payment is lost, every payer's answer matches MySQL, money is conserved.
 */
export async function historyKillDrill(
  s: DrillStack,
  temporal: RestartableTemporal,
  size: DrillSize,
  say: (m: string) => void,
): Promise<DrillResult> {
  const { api, ds } = s;
  const date = dateFor(40);
  const concert = await api.createConcert('Drill: history service killed', [date], PRICE);
  say(`history drill: ${size.selloutUsers} users getting ACTIVE tokens…`);
  const users = await activeUsers(api, size.selloutUsers);
  const raceStart = Date.now();
  const oldPid = temporal.processes.history.pid;
  let killedAt: number | undefined;
  let restart: Promise<{ backAfterMs: number; pid: number }> | undefined;
  const killAndRestart = async (): Promise<{ backAfterMs: number; pid: number }> => {
    killedAt = Date.now();
    const proc = await temporal.restart('history', { kill: true });
    return { backAfterMs: Date.now() - killedAt, pid: proc.pid };
  };
  const paying: Array<Promise<PayOutcome>> = [];
  const unpaid: Win[] = [];
  say('history drill: race for 50 seats, every other winner pays at once; history killed (-9) at 15 holds, restarted');
  const race = await sellOut({
    api,
    users,
    concertId: concert.concertId,
    date,
    deadlineMs: 180_000,
    soldOutPatienceMs: 12_000,
    onWin: (n, win) => {
      if (n % 2 === 1) {
        paying.push(
          (async () => {
            await chargeWinners(api, [win], 90_000);
            const [outcome] = await payWins(api, [win], 120_000);
            return outcome!;
          })(),
        );
      } else unpaid.push(win);
      if (n === 15) restart = killAndRestart();
    },
  });
  say(
    `history drill: ${race.wins.length} seats held (${race.attempts} attempts, unexpected ${JSON.stringify(race.unexpected)})`,
  );
  const back = await (restart ?? killAndRestart());
  say(`history drill: history back (pid ${back.pid}) ${back.backAfterMs} ms after the kill`);
  const paid = await Promise.all(paying);
  say(
    `history drill: payments ${JSON.stringify(tally(paid.map((p) => p.status)))}; waiting for unpaid holds to lapse…`,
  );
  const paidIds = new Set(paid.filter((p) => p.status === 201).map((p) => p.win.reservation.reservationId));
  const notPaid = [...unpaid, ...paid.filter((p) => p.status !== 201).map((p) => p.win)];
  const release = await waitReleased(
    ds,
    notPaid.map((w) => w.reservation),
    60_000,
  );
  const checks: Check[] = [
    {
      name: 'the history service was killed while holds were being taken and paid',
      ok: killedAt !== undefined && back.pid !== oldPid,
      detail: `pid ${oldPid} killed ${killedAt ? killedAt - raceStart : '?'} ms into the race, pid ${back.pid} up ${back.backAfterMs} ms later`,
    },
    ...(await sellOutChecks(ds, {
      concertId: concert.concertId,
      date,
      paid,
      notPaid: notPaid.length,
      stillHeld: release.stillHeld.length,
      waitedMs: 60_000,
      despite: 'the kill',
    })),
  ];
  return {
    name: 'kill -9 the Temporal history service mid sell-out, restart it',
    checks,
    numbers: {
      users: users.length,
      'seats held': race.wins.length,
      'hold attempts': race.attempts,
      'answers other than 201/409 during the race': race.unexpected,
      'payers / paid (201)': `${paid.length} / ${paidIds.size}`,
      'payment answers (final)': tally(paid.map((p) => p.status)),
      'payment retries after 5xx / dropped connections': paid.reduce((a, p) => a + p.attempts - 1, 0),
      'history killed after (ms of race)': killedAt ? killedAt - raceStart : null,
      'history killed → gRPC port answering again (ms)': back.backAfterMs,
      'release lateness ms (unpaid holds)': lateNumbers(release.lateness),
    },
    findings: [],
  };
}

// ---------------------------------------------------------------- one Redis master killed

interface Probe {
  op: string;
  /** Whether this request touches only slots the killed master does not own. */
  unaffected: boolean;
  answer: Answer<unknown>;
}

/** `{"error":{"code","message"}}` as API.md requires of every error answer. */
const hasErrorBody = (body: unknown): boolean => {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
};

/**
 * kill -9 one Redis Cluster master (three masters, no replicas: nothing takes its slots over)
 * while users hold, pay and queue. The master killed is the one owning one performance's seat
 * state (performance A) but not the waiting line; performance B lives on another node.
 * Requests that need the lost slots must get a clear answer quickly (a 5xx with the JSON error
 * body, never a hang); requests on the other slots keep working; after the node returns (its
 * append-only file on), money and seats are exactly right and every unpaid hold still lapses.
 */
export async function redisMasterKillDrill(
  s: DrillStack,
  cluster: KillableRedisCluster,
  say: (m: string) => void,
): Promise<DrillResult> {
  const { api, ds, config } = s;
  const keys = redisKeys(config.redisKeyPrefix);
  const redis = createRedis(config, 'drill-slots');
  try {
    // Which master owns what: CLUSTER SLOTS → [start, end, [host, port, id], …].
    const slotsOf = (await redis.cluster('SLOTS')) as unknown as Array<[number, number, [string, number, string]]>;
    const ownerOf = async (key: string): Promise<number> => {
      const slot = Number(await redis.cluster('KEYSLOT', key));
      const range = slotsOf.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no master owns slot ${slot} (${key})`);
      return range[2][1];
    };
    const queuePort = await ownerOf(keys.waiting);
    const dates = Array.from({ length: 12 }, (_, i) => dateFor(50 + i));
    const concert = await api.createConcert('Drill: Redis master lost', dates, PRICE);
    const owners = await Promise.all(dates.map((d) => ownerOf(keys.seatState(concert.concertId, d))));
    const ai = owners.findIndex((port) => port !== queuePort);
    if (ai < 0) throw new Error('every performance landed on the queue node; run the drill again');
    const victim = owners[ai]!;
    const bi = owners.findIndex((port) => port !== victim);
    const dateA = dates[ai]!;
    const dateB = dates[bi]!;
    say(
      `redis drill: waiting line on :${queuePort}; performance A (${dateA}) on :${victim} (to be killed), B (${dateB}) on :${owners[bi]}`,
    );

    const users = await activeUsers(api, 24);
    const at = (from: number, n: number): BenchUser[] => users.slice(from, from + n);
    const [payersA, holdersA, holdersB, newA, newB] = [at(0, 4), at(4, 4), at(8, 4), at(12, 6), at(18, 6)];
    const holdAll = async (group: BenchUser[], date: string, firstSeat: number): Promise<Win[]> => {
      const held = await holdEach(
        api,
        group.map((user, i) => ({ user, seat: { concertId: concert.concertId, date, seatNo: firstSeat + i } })),
        8,
      );
      return held.map((h, i) => {
        if (!h.reservation) throw new Error(`setup hold on ${date} answered ${h.status}`);
        return { user: group[i]!, index: i, reservation: h.reservation };
      });
    };
    const soldA = await holdAll(payersA, dateA, 1);
    const winsA = await holdAll(holdersA, dateA, 11);
    const winsB = await holdAll(holdersB, dateB, 11);
    await chargeWinners(api, [...soldA, ...winsA, ...winsB], 30_000);
    const paidBefore = await payWins(api, soldA, 30_000);
    const moneyBefore = await moneyTotals(ds);
    const seatsBefore = { A: await seatStatuses(ds, concert.concertId, dateA) };

    say(`redis drill: kill -9 the master on :${victim}…`);
    await cluster.kill(victim);
    const downAt = Date.now();
    const probes: Probe[] = [];
    const probe = async (op: string, unaffected: boolean, send: () => Promise<Answer<unknown>>): Promise<void> => {
      probes.push({ op, unaffected, answer: await send() });
    };
    // Users arriving while the node is down: their own rate-limit key decides the slot.
    const arrivals = Array.from({ length: 30 }, () => randomUUID());
    const arrivalOwners = await Promise.all(arrivals.map((id) => ownerOf(`${keys.tokenRate}${id}`)));
    const wave = async (label: string, firstSeat: number): Promise<void> => {
      await Promise.all([
        ...newA.map((u, i) =>
          probe(`${label}: hold on A`, false, () =>
            api.hold(u.token, { concertId: concert.concertId, date: dateA, seatNo: firstSeat + i }, i),
          ),
        ),
        ...newB.map((u, i) =>
          probe(`${label}: hold on B`, true, () =>
            api.hold(u.token, { concertId: concert.concertId, date: dateB, seatNo: firstSeat + i }, i),
          ),
        ),
        probe(`${label}: seat map A`, false, () => api.seats(newA[0]!.token, concert.concertId, dateA, 0)),
        probe(`${label}: seat map B`, true, () => api.seats(newB[0]!.token, concert.concertId, dateB, 1)),
        ...users.map((u, i) => probe(`${label}: queue status`, true, () => api.current(u.token, i))),
        ...arrivals.map((id, i) =>
          probe(`${label}: new token`, arrivalOwners[i] !== victim, () => api.issueToken(id, i)),
        ),
      ]);
    };
    await wave('at once', 21);
    // After the cluster's node timeout (5 s) the other masters mark the node failed.
    await sleep(Math.max(0, downAt + 6_000 - Date.now()));
    await wave('after 6 s', 41);
    // Payments during the outage: performance A's need the lost slot, B's do not.
    const payA = await Promise.all(
      winsA.map(async (w, i) => ({
        w,
        answer: await api.pay(w.user.token, w.reservation.reservationId, `pay-${w.reservation.reservationId}`, i),
      })),
    );
    const payB = await Promise.all(
      winsB.map(async (w, i) => ({
        w,
        answer: await api.pay(w.user.token, w.reservation.reservationId, `pay-${w.reservation.reservationId}`, i),
      })),
    );
    for (const p of payA) probes.push({ op: 'outage: pay on A', unaffected: false, answer: p.answer });
    for (const p of payB) probes.push({ op: 'outage: pay on B', unaffected: true, answer: p.answer });
    const readyDuring = await api.readyz(0);
    const moneyDuring = await moneyTotals(ds);

    say(`redis drill: starting :${victim} again (append-only file on)…`);
    await cluster.restart(victim);
    const backAfterMs = Date.now() - downAt;
    await until(
      'both apis ready after the node returned',
      async () => (await Promise.all([api.readyz(0), api.readyz(1)])).every((r) => r.status === 200),
      { ms: 30_000, everyMs: 200, retryErrors: true },
    );
    // Payers of A whose payment failed try again with the same key, as a careful client does.
    const retryA = await payWins(
      api,
      payA.filter((p) => p.answer.status !== 201).map((p) => p.w),
      30_000,
    );
    const afterHold = await holdEach(
      api,
      newA.map((user, i) => ({ user, seat: { concertId: concert.concertId, date: dateA, seatNo: 31 + i } })),
      6,
    );
    const outcomes: PayOutcome[] = [
      ...paidBefore,
      ...payA.map((p) => ({
        win: p.w,
        status: retryA.find((r) => r.win === p.w)?.status ?? p.answer.status,
        payment: retryA.find((r) => r.win === p.w)?.payment ?? (p.answer.status === 201 ? p.answer.body : undefined),
        attempts: 1,
        statuses: [p.answer.status],
      })),
      ...payB.map((p) => ({
        win: p.w,
        status: p.answer.status,
        payment: p.answer.status === 201 ? p.answer.body : undefined,
        attempts: 1,
        statuses: [p.answer.status],
      })),
    ];
    const paidA = outcomes.filter((o) => o.status === 201 && o.win.reservation.date === dateA).length;
    const paidB = outcomes.filter((o) => o.status === 201 && o.win.reservation.date === dateB).length;
    // Holds taken during and after the outage that nobody pays lapse like any other.
    const unpaidHolds = [
      ...probes.flatMap((p) =>
        p.op.includes('hold') && p.answer.status === 201
          ? [p.answer.body as { reservationId: string; heldUntil: string }]
          : [],
      ),
      ...afterHold.flatMap((h) => (h.reservation ? [h.reservation] : [])),
    ];
    say(`redis drill: waiting for the ${unpaidHolds.length} unpaid holds to lapse…`);
    const release = await waitReleased(ds, unpaidHolds, 60_000);

    const affected = probes.filter((p) => !p.unaffected);
    const failedAnswers = probes.filter((p) => p.answer.status >= 500 || p.answer.status === 0);
    const slow = probes.filter((p) => p.answer.ms > 10_000);
    const unaffectedFailed = probes.filter((p) => p.unaffected && (p.answer.status >= 500 || p.answer.status === 0));
    const byOp: Record<string, Record<string, number>> = {};
    for (const p of probes)
      (byOp[p.op] ??= {})[String(p.answer.status)] = (byOp[p.op]?.[String(p.answer.status)] ?? 0) + 1;
    const latency = distribution(probes.map((p) => p.answer.ms));
    const affectedLatency = distribution(affected.map((p) => p.answer.ms));
    const checks: Check[] = [
      {
        name: 'the loss was visible: requests on the lost slots failed',
        ok: affected.some((p) => p.answer.status >= 500),
        detail: `${affected.filter((p) => p.answer.status >= 500).length} of ${affected.length} requests on the lost slots answered 5xx`,
      },
      {
        name: 'no request hung: every answer within 10 s, no dropped connection',
        ok: slow.length === 0 && probes.every((p) => p.answer.status !== 0),
        detail: `${probes.length} requests, max ${Math.round(latency.max)} ms, p99 ${Math.round(latency.p99)} ms; ${probes.filter((p) => p.answer.status === 0).length} network errors`,
      },
      {
        name: 'every 5xx carries the JSON error body {"error":{"code","message"}}',
        ok: failedAnswers.every((p) => hasErrorBody(p.answer.body)),
        detail: `${failedAnswers.length} 5xx, ${failedAnswers.filter((p) => !hasErrorBody(p.answer.body)).length} without it; codes ${JSON.stringify(
          tally(
            failedAnswers.map(
              (p) => `${p.answer.status} ${(p.answer.body as { error?: { code?: string } }).error?.code ?? '?'}`,
            ),
          ),
        )}`,
      },
      {
        name: 'affected users are told the service is unavailable (503), not an internal error (500)',
        ok: failedAnswers.every((p) => p.answer.status === 503),
        detail: `5xx by status ${JSON.stringify(tally(failedAnswers.map((p) => p.answer.status)))}`,
      },
      {
        name: 'requests on the other masters kept working (performance B, the waiting line)',
        ok: unaffectedFailed.length === 0,
        detail: `${unaffectedFailed.length} of ${probes.filter((p) => p.unaffected).length} failed: ${JSON.stringify(
          tally(unaffectedFailed.map((p) => p.op)),
        )}`,
      },
      {
        name: 'no money moved during the outage except payments that answered 201',
        ok:
          moneyDuring.paid - moneyBefore.paid ===
          probes.filter((p) => p.op.includes('pay') && p.answer.status === 201).length * PRICE,
        detail: `before ${JSON.stringify(moneyBefore)}, during ${JSON.stringify(moneyDuring)}`,
      },
      {
        name: 'after the node returned, performance A works again (holds and the failed payments)',
        ok: afterHold.every((h) => h.status === 201) && paidA === soldA.length + winsA.length,
        detail: `holds ${JSON.stringify(tally(afterHold.map((h) => h.status)))}; paid on A ${paidA} of ${soldA.length + winsA.length}`,
      },
      await payOutcomesConsistent(ds, outcomes),
      await paymentsPresent(
        ds,
        outcomes.flatMap((o) => (o.payment ? [o.payment.paymentId] : [])),
      ),
      ...(await seatChecks(ds, concert.concertId, dateA, { sold: paidA })),
      ...(await seatChecks(ds, concert.concertId, dateB, { sold: paidB })),
      {
        name: 'every unpaid hold (taken during or after the outage) released',
        ok: release.stillHeld.length === 0,
        detail: `${unpaidHolds.length} holds, ${release.stillHeld.length} still HELD 60 s after heldUntil`,
      },
      await noStaleHolds(ds, 60_000),
      await moneyCheck(ds),
    ];
    return {
      name: 'kill -9 one Redis Cluster master (no replicas) while users hold, pay and queue',
      checks,
      numbers: {
        'killed master': `:${victim} (performance A's seat state; the waiting line is on :${queuePort})`,
        'requests during the outage': probes.length,
        'answers by request': byOp,
        'latency of requests on the lost slots, ms': {
          p50: affectedLatency.p50,
          p99: affectedLatency.p99,
          max: affectedLatency.max,
        },
        '/readyz during the outage': `${readyDuring.status} ${JSON.stringify(readyDuring.body)}`,
        'node killed → restarted and cluster ok (ms)': backAfterMs,
        'seats of A before the kill': seatsBefore.A,
        'release lateness ms': lateNumbers(release.lateness),
      },
      findings: [
        ...(readyDuring.status === 200
          ? [
              '/readyz answered 200 with a master down: its Redis check reaches a live node, so it does not show a partial loss of the cluster',
            ]
          : []),
        ...(failedAnswers.some((p) => p.answer.status === 500)
          ? [
              `requests on the lost slots answered 500 INTERNAL (${failedAnswers.filter((p) => p.answer.status === 500).length}, e.g. ${[
                ...new Set(failedAnswers.filter((p) => p.answer.status === 500).map((p) => p.op)),
              ].join(
                ', ',
              )}): the Redis errors of a lost master (MOVED to it after the client's redirections, CLUSTERDOWN) are not mapped to 503 as a refused connection is`,
            ]
          : []),
      ],
    };
  } finally {
    redis.disconnect();
  }
}
