/** The service's HTTP contract (API.md v1.1), as calls the scenarios and drills make. */
import { SignJWT } from 'jose';
import { sleep, until } from './wait';
import { call, pool } from './http';
import type { Answer, BenchUser, Recorder } from './http';

export interface TokenBody {
  token: string;
  userId: string;
  status: 'WAITING' | 'ACTIVE' | 'EXPIRED' | 'COMPLETED';
  position: number;
  estimatedWaitSeconds: number | null;
  activeUntil: string | null;
}

export interface QueueSettings {
  waiting: number;
  active: number;
  maxActive: number;
  admitPerSecond: number;
  paused: boolean;
}

export interface SeatMap {
  concertId: string;
  date: string;
  seats: Array<{ seatNo: number; price: number }>;
}

export interface Reservation {
  reservationId: string;
  userId: string;
  concertId: string;
  date: string;
  seatNo: number;
  price: number;
  status: 'HELD' | 'CONFIRMED' | 'EXPIRED' | 'CANCELLED';
  heldUntil: string;
}

export interface Payment {
  paymentId: string;
  reservationId: string;
  amount: number;
  balance: number;
  paidAt: string;
}

export interface SeatRef {
  concertId: string;
  date: string;
  seatNo: number;
}

/**
 * The HS256 secret the bench's api processes verify identity tokens with (`AUTH_JWT_SECRET`,
 * set by `identityEnv()` in their environment). A bench-only value, never a deployment's.
 */
export const BENCH_IDENTITY_SECRET = 'bench-identity-secret-not-for-production-0123456789';

/** Environment for api processes, so they accept the identity tokens the bench mints. */
export const identityEnv = (): Record<string, string> => ({ AUTH_JWT_SECRET: BENCH_IDENTITY_SECRET });

const identityKey = new TextEncoder().encode(BENCH_IDENTITY_SECRET);

/**
 * The one place the bench mints identity tokens (API v1.1: a JWT with `sub` = userId, as a
 * login service would issue). Sent with every `POST /v1/queue/tokens`; a v1.0 server ignores it.
 */
export function identityToken(userId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('6h')
    .sign(identityKey);
}

/** Base URLs of the api processes; request `i` goes to `urls[i % n]`. */
export class ServiceApi {
  constructor(
    readonly urls: readonly string[],
    readonly adminKey: string,
    readonly rec?: Recorder,
  ) {}

  url(i: number): string {
    return this.urls[i % this.urls.length]!;
  }

  async issueToken(userId: string, i: number, op = 'token'): Promise<Answer<TokenBody>> {
    const identity = await identityToken(userId);
    return call<TokenBody>(
      this.url(i),
      'POST',
      '/v1/queue/tokens',
      { token: identity, body: { userId } },
      this.rec,
      op,
    );
  }

  current(token: string, i: number, op?: string): Promise<Answer<TokenBody>> {
    return call<TokenBody>(this.url(i), 'GET', '/v1/queue/tokens/current', { token }, this.rec, op);
  }

  queue(i = 0): Promise<Answer<QueueSettings>> {
    return call<QueueSettings>(this.url(i), 'GET', '/v1/admin/queue', { headers: { 'x-admin-key': this.adminKey } });
  }

  async setQueue(settings: Partial<Omit<QueueSettings, 'waiting' | 'active'>>, i = 0): Promise<QueueSettings> {
    const res = await call<QueueSettings>(this.url(i), 'PATCH', '/v1/admin/queue', {
      headers: { 'x-admin-key': this.adminKey },
      body: settings,
    });
    if (res.status !== 200)
      throw new Error(`PATCH /v1/admin/queue answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async createConcert(title: string, dates: string[], price: number): Promise<{ concertId: string; dates: string[] }> {
    const res = await call<{ concertId: string; dates: string[] }>(this.url(0), 'POST', '/v1/admin/concerts', {
      headers: { 'x-admin-key': this.adminKey },
      body: { title, dates, price },
    });
    if (res.status !== 201)
      throw new Error(`POST /v1/admin/concerts answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  seats(token: string, concertId: string, date: string, i: number, op = 'seats'): Promise<Answer<SeatMap>> {
    return call<SeatMap>(this.url(i), 'GET', `/v1/concerts/${concertId}/dates/${date}/seats`, { token }, this.rec, op);
  }

  hold(token: string, seat: SeatRef, i: number, op = 'hold'): Promise<Answer<Reservation>> {
    return call<Reservation>(this.url(i), 'POST', '/v1/reservations', { token, body: seat }, this.rec, op);
  }

  cancel(token: string, reservationId: string, i: number, op = 'cancel'): Promise<Answer<Reservation>> {
    return call<Reservation>(this.url(i), 'DELETE', `/v1/reservations/${reservationId}`, { token }, this.rec, op);
  }

  reservation(token: string, reservationId: string, i: number): Promise<Answer<Reservation>> {
    return call<Reservation>(this.url(i), 'GET', `/v1/reservations/${reservationId}`, { token });
  }

  charge(
    user: BenchUser,
    amount: number,
    key: string,
    i: number,
    op = 'charge',
  ): Promise<Answer<{ userId: string; balance: number }>> {
    return call(
      this.url(i),
      'POST',
      `/v1/users/${user.userId}/balance/charge`,
      { token: user.token, body: { amount }, headers: { 'idempotency-key': key } },
      this.rec,
      op,
    );
  }

  balance(user: BenchUser, i: number): Promise<Answer<{ userId: string; balance: number }>> {
    return call(this.url(i), 'GET', `/v1/users/${user.userId}/balance`, { token: user.token });
  }

  pay(token: string, reservationId: string, key: string, i: number, op = 'pay'): Promise<Answer<Payment>> {
    return call<Payment>(
      this.url(i),
      'POST',
      '/v1/payments',
      { token, body: { reservationId }, headers: { 'idempotency-key': key } },
      this.rec,
      op,
    );
  }

  readyz(i: number): Promise<Answer<{ status?: string; checks?: Record<string, string> }>> {
    return call(this.url(i), 'GET', '/readyz', { timeoutMs: 5_000 });
  }

  /**
   * Issues a token to each user (spread over the api processes) and returns them in order;
   * retries network errors and 5xx with the same user, as a client would.
   */
  async issueTokens(userIds: readonly string[], concurrency: number, op = 'token'): Promise<TokenBody[]> {
    return pool(userIds, concurrency, async (userId, i) => {
      for (let attempt = 0; ; attempt++) {
        const res = await this.issueToken(userId, i + attempt, op);
        if (res.status === 200 || res.status === 201) return res.body;
        if (attempt >= 20 || (res.status >= 400 && res.status < 500)) {
          throw new Error(`POST /v1/queue/tokens for ${userId} answered ${res.status}: ${JSON.stringify(res.body)}`);
        }
        await sleep(100 * (attempt + 1));
      }
    });
  }

  /** Waits until every token reads ACTIVE (the queue must already admit them). */
  async waitActive(tokens: readonly string[], timeoutMs: number, concurrency = 50): Promise<void> {
    let pending = [...tokens];
    await until(
      `${tokens.length} tokens ACTIVE`,
      async () => {
        const states = await pool(pending, concurrency, async (token, i) => (await this.current(token, i)).body.status);
        pending = pending.filter((_, i) => states[i] !== 'ACTIVE');
        return pending.length === 0;
      },
      { ms: timeoutMs, everyMs: 250, retryErrors: true },
    );
  }
}
