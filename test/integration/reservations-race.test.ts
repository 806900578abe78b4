import { randomUUID } from 'node:crypto';
import type { TestUser } from '../helpers/auth';
import { percentileOf } from '../../scripts/lib/stats';
import { useStack } from '../helpers/stack';

const DATE = '2099-12-24';

interface Attempt {
  status: number;
  ms: number;
  seatNo: number;
  reservationId?: string;
}

function report(label: string, attempts: Attempt[], wallMs: number): void {
  const ms = attempts.map((a) => a.ms);
  console.log(
    `${label}: ${attempts.length} hold attempts in ${wallMs} ms = ${Math.round((attempts.length * 1000) / wallMs)}/s; ` +
      `latency p50 ${percentileOf(ms, 50).toFixed(0)} ms, p99 ${percentileOf(ms, 99).toFixed(0)} ms, ` +
      `max ${Math.max(...ms).toFixed(0)} ms`,
  );
}

/**
 * Races for seats across two API and two worker processes (real HTTP, Temporal dev server,
 * MariaDB, Redis). Holds last the default 300 s, so nothing lapses during a race.
 */
describe('seat races across 2 api and 2 worker processes', () => {
  const h = useStack({ poolSize: 10, config: { seatHoldSeconds: 300, logLevel: 'warn' }, apis: 2, workers: 2 });

  async function newConcert(): Promise<string> {
    const res = await fetch(`${h.api()}/v1/admin/concerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Admin-Key': h.config.adminApiKey },
      body: JSON.stringify({ title: `Race ${randomUUID().slice(0, 8)}`, dates: [DATE], price: 50_000 }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { concertId: string }).concertId;
  }

  async function activeUsers(n: number): Promise<TestUser[]> {
    const users: TestUser[] = [];
    for (let i = 0; i < n; i += 50) {
      users.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => h.newUser()))));
    }
    return users;
  }

  /** One POST /v1/reservations, alternating between the API processes. */
  async function attempt(user: TestUser, concertId: string, seatNo: number, i: number): Promise<Attempt> {
    const started = performance.now();
    const res = await fetch(`${h.api(i)}/v1/reservations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...user.auth },
      body: JSON.stringify({ concertId, date: DATE, seatNo }),
    });
    const body = (await res.json()) as { reservationId?: string; error?: { code: string } };
    const result: Attempt = { status: res.status, ms: performance.now() - started, seatNo };
    if (res.status === 201) result.reservationId = body.reservationId;
    else if (res.status === 409) expect(body.error?.code).toBe('SEAT_UNAVAILABLE');
    return result;
  }

  async function heldRows(concertId: string) {
    return h.db.dataSource.query<Array<{ id: string; seat_no: number; seat_status: string; reservation_id: string }>>(
      `SELECT r.id, s.seat_no, s.status AS seat_status, s.reservation_id
         FROM reservations r JOIN seats s ON s.id = r.seat_id JOIN performances p ON p.id = s.performance_id
        WHERE p.concert_id = ? AND r.status = 'HELD'`,
      [concertId],
    );
  }

  it('when 1,000 users ask for the same seat at once, then exactly one gets 201, the rest 409, and one HELD row exists', async () => {
    const concertId = await newConcert();
    const users = await activeUsers(1000);

    const started = performance.now();
    const attempts = await Promise.all(users.map((user, i) => attempt(user, concertId, 17, i)));
    const wallMs = Math.round(performance.now() - started);
    report('1,000 racers on one seat', attempts, wallMs);

    const statuses = attempts.map((a) => a.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(999);
    const winner = attempts.find((a) => a.status === 201)!;
    const rows = await heldRows(concertId);
    expect(rows).toEqual([
      { id: winner.reservationId, seat_no: 17, seat_status: 'HELD', reservation_id: winner.reservationId },
    ]);
    const [{ n }] = await h.db.dataSource.query(
      `SELECT COUNT(*) AS n FROM reservations r JOIN seats s ON s.id = r.seat_id
         JOIN performances p ON p.id = s.performance_id WHERE p.concert_id = ?`,
      [concertId],
    );
    expect(Number(n)).toBe(1);
  }, 180_000);

  it('when 200 users race for the 50 seats of one date, each retrying other seats after a 409, then exactly 50 holds exist, no seat twice', async () => {
    const concertId = await newConcert();
    const users = await activeUsers(200);
    const attempts: Attempt[] = [];

    /** A user tries random seats not yet seen taken until one is held or every seat was refused. */
    const grab = async (user: TestUser, u: number): Promise<Attempt | null> => {
      const refused = new Set<number>();
      for (let i = 0; refused.size < 50; i++) {
        const left = Array.from({ length: 50 }, (_, k) => k + 1).filter((s) => !refused.has(s));
        const seatNo = left[Math.floor(Math.random() * left.length)]!;
        const result = await attempt(user, concertId, seatNo, u + i);
        attempts.push(result);
        if (result.status === 201) return result;
        if (result.status !== 409) return result;
        refused.add(seatNo);
      }
      return null;
    };

    const started = performance.now();
    const outcomes = await Promise.all(users.map((user, u) => grab(user, u)));
    const wallMs = Math.round(performance.now() - started);
    report('200 racers on 50 seats', attempts, wallMs);

    expect(attempts.filter((a) => a.status !== 201 && a.status !== 409)).toEqual([]);
    const holds = outcomes.filter((o): o is Attempt => o?.status === 201);
    expect(holds).toHaveLength(50);
    expect(new Set(holds.map((h) => h.seatNo)).size).toBe(50);
    expect(outcomes.filter((o) => o === null)).toHaveLength(150);
    expect(attempts.filter((a) => a.status === 201)).toHaveLength(50);

    const rows = await heldRows(concertId);
    expect(rows).toHaveLength(50);
    expect(new Set(rows.map((row) => row.seat_no)).size).toBe(50);
    expect(rows.every((row) => row.seat_status === 'HELD' && row.reservation_id === row.id)).toBe(true);
    expect(new Set(rows.map((row) => row.id))).toEqual(new Set(holds.map((h) => h.reservationId)));
  }, 300_000);
});
