/**
 * What users do during an on-sale, as the scenarios and drills replay it: race for seats,
 * top up and pay, hold given seats. Clients behave like real ones: a 409 makes them look at
 * the seat map again, a 5xx or a dropped connection makes them retry (payments with the
 * same Idempotency-Key).
 */
import { sleep } from './wait';
import type { Payment, Reservation, SeatRef, ServiceApi } from './api';
import { pool } from './http';
import type { BenchUser } from './http';

export interface Win {
  user: BenchUser;
  /** Index of the user in the racing crowd (also picks its api process). */
  index: number;
  reservation: Reservation;
}

export interface SellOutResult {
  wins: Win[];
  /** Hold requests sent. */
  attempts: number;
  /** Users who stopped without a seat because the map was empty. */
  soldOutSeen: number;
  /** Answers other than 201/409 (status → count), e.g. 5xx while a worker was killed. */
  unexpected: Record<string, number>;
}

const bump = (m: Record<string, number>, k: number): void => {
  m[String(k)] = (m[String(k)] ?? 0) + 1;
};

/**
 * Every user, all at once: read the seat map, try a random free seat, on 409 read the map
 * again, until the user holds a seat or the map is empty. Returns the winners.
 */
export async function sellOut(opts: {
  api: ServiceApi;
  users: readonly BenchUser[];
  concertId: string;
  date: string;
  deadlineMs: number;
  maxAttemptsPerUser?: number;
  /**
   * How long a user keeps looking at an empty seat map before giving up (0: at once). Holds
   * that fail (e.g. while no worker runs) free their seats again, so users who refresh a
   * sold-out page for a while get them.
   */
  soldOutPatienceMs?: number;
  /** Called on each win with the number of wins so far (in the caller's turn, before the user stops). */
  onWin?: (wins: number, win: Win) => void;
}): Promise<SellOutResult> {
  const { api, users, concertId, date } = opts;
  const deadline = Date.now() + opts.deadlineMs;
  const maxAttempts = opts.maxAttemptsPerUser ?? 60;
  const wins: Win[] = [];
  const unexpected: Record<string, number> = {};
  let attempts = 0;
  let soldOutSeen = 0;
  await Promise.all(
    users.map(async (user, index) => {
      let emptySince: number | undefined;
      for (let attempt = 0; attempt < maxAttempts && Date.now() < deadline; attempt++) {
        const map = await api.seats(user.token, concertId, date, index + attempt, 'seat map (during race)');
        if (map.status !== 200) {
          bump(unexpected, map.status);
          if (map.status === 0 || map.status >= 500) {
            await sleep(100);
            continue;
          }
          return;
        }
        const free = map.body.seats;
        if (free.length === 0) {
          emptySince ??= Date.now();
          if (Date.now() - emptySince >= (opts.soldOutPatienceMs ?? 0)) {
            soldOutSeen++;
            return;
          }
          attempt--;
          await sleep(1_000);
          continue;
        }
        emptySince = undefined;
        const seat = free[Math.floor(Math.random() * free.length)]!;
        attempts++;
        const res = await api.hold(user.token, { concertId, date, seatNo: seat.seatNo }, index + attempt, 'hold');
        if (res.status === 201) {
          const win = { user, index, reservation: res.body };
          wins.push(win);
          opts.onWin?.(wins.length, win);
          return;
        }
        if (res.status === 409) continue;
        bump(unexpected, res.status);
        if (res.status !== 0 && res.status < 500) return;
        await sleep(100);
      }
    }),
  );
  return { wins, attempts, soldOutSeen, unexpected };
}

export interface PayOutcome {
  win: Win;
  /** Final answer to the payment (after retries of 5xx / network errors). */
  status: number;
  payment?: Payment;
  attempts: number;
  /** Every status seen, in order. */
  statuses: number[];
}

/** Tops each winner's balance up by the seat price (retrying failures with the same key). */
export async function chargeWinners(api: ServiceApi, wins: readonly Win[], deadlineMs: number): Promise<number[]> {
  const deadline = Date.now() + deadlineMs;
  return Promise.all(
    wins.map(async (w) => {
      const key = `charge-${w.reservation.reservationId}`;
      for (let attempt = 0; ; attempt++) {
        const res = await api.charge(w.user, w.reservation.price, key, w.index + attempt, 'charge');
        if (res.status !== 0 && res.status < 500) return res.status;
        if (Date.now() > deadline) return res.status;
        await sleep(200);
      }
    }),
  );
}

/**
 * Pays every given win at once; a 5xx or dropped connection is retried with the same
 * Idempotency-Key until an answer (or the deadline), as a careful client does.
 */
export async function payWins(api: ServiceApi, wins: readonly Win[], deadlineMs: number): Promise<PayOutcome[]> {
  const deadline = Date.now() + deadlineMs;
  return Promise.all(
    wins.map(async (win) => {
      const key = `pay-${win.reservation.reservationId}`;
      const statuses: number[] = [];
      for (let attempt = 0; ; attempt++) {
        const res = await api.pay(win.user.token, win.reservation.reservationId, key, win.index + attempt, 'pay');
        statuses.push(res.status);
        const done = res.status !== 0 && res.status < 500;
        if (done || Date.now() > deadline) {
          return {
            win,
            status: res.status,
            payment: res.status === 201 ? res.body : undefined,
            attempts: attempt + 1,
            statuses,
          };
        }
        await sleep(250);
      }
    }),
  );
}

/** Each user holds its own given seat (no contention), `concurrency` at a time. */
export async function holdEach(
  api: ServiceApi,
  pairs: ReadonlyArray<{ user: BenchUser; seat: SeatRef }>,
  concurrency: number,
  op = 'hold (own seat)',
): Promise<Array<{ status: number; reservation?: Reservation; sentAt: number; answeredAt?: number }>> {
  return pool(pairs, concurrency, async ({ user, seat }, i) => {
    const sentAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      const res = await api.hold(user.token, seat, i + attempt, op);
      if (res.status === 201) return { status: 201, reservation: res.body, sentAt, answeredAt: Date.now() };
      if ((res.status !== 0 && res.status < 500) || attempt >= 5) return { status: res.status, sentAt };
      await sleep(200);
    }
  });
}
