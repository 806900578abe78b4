import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createApp } from '../../src/api/app';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { identityFor, tokenFor } from '../helpers/auth';
import type { TestUser } from '../helpers/auth';
import { testConfig } from '../helpers/config';
import { DATE, lapseHold, newConcert } from '../helpers/money';

describe('/v1/me (identity token alone)', () => {
  let stack: InProcessStack;
  let concertId: string;
  let nextSeat = 1;

  beforeAll(async () => {
    // Hold limits are not what these tests are about.
    stack = await startInProcessStack(testConfig({ maxHoldsPerUser: 50 }));
    concertId = await newConcert(stack.db.dataSource);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  type Listed = { reservations: Array<{ reservationId: string }>; nextCursor: string | null };
  const idsOf = (body: unknown): string[] => (body as Listed).reservations.map((r) => r.reservationId);
  const get = async (path: string, headers: Record<string, string>) => request(stack.app).get(path).set(headers);
  const activeUser = (balance = 0): Promise<TestUser> =>
    tokenFor({ ...stack.deps, tokenSecret: stack.deps.config.tokenSecret }, { balance });

  async function hold(user: TestUser): Promise<string> {
    const res = await request(stack.app)
      .post('/v1/reservations')
      .set(user.auth)
      .send({ concertId, date: DATE, seatNo: nextSeat++ });
    expect(res.status).toBe(201);
    return res.body.reservationId as string;
  }

  it('when the user has no row yet, then balance 0 and empty lists whose nextCursor is null', async () => {
    const userId = randomUUID();
    const identity = await identityFor(userId);
    const me = await get('/v1/me', identity);
    expect([me.status, me.body]).toEqual([200, { userId, balance: 0 }]);
    const reservations = await get('/v1/me/reservations', identity);
    expect([reservations.status, reservations.body]).toEqual([200, { reservations: [], nextCursor: null }]);
    const payments = await get('/v1/me/payments', identity);
    expect([payments.status, payments.body]).toEqual([200, { payments: [], nextCursor: null }]);
  });

  it('when there is no identity, or a queue token instead, then every /v1/me route is 401 UNAUTHENTICATED', async () => {
    const user = await activeUser();
    for (const path of ['/v1/me', '/v1/me/reservations', '/v1/me/payments']) {
      for (const headers of [{}, user.auth]) {
        const res = await get(path, headers);
        expect([path, res.status, res.body.error?.code]).toEqual([path, 401, 'UNAUTHENTICATED']);
      }
    }
  });

  it('when the user has paid (token spent), then /v1/me shows the balance, the ticket and the payment', async () => {
    const user = await activeUser(100_000);
    const reservationId = await hold(user);
    const paid = await request(stack.app).post('/v1/payments').set(user.auth).send({ reservationId });
    expect(paid.status).toBe(201);
    const identity = await identityFor(user.userId);

    const me = await get('/v1/me', identity);
    expect(me.body).toEqual({ userId: user.userId, balance: paid.body.balance });
    const reservations = await get('/v1/me/reservations', identity);
    const shown = await request(stack.app).get(`/v1/reservations/${reservationId}`).set(user.auth);
    expect(shown.status).toBe(403); // the queue token is spent; /v1/me still shows the ticket
    expect(reservations.body).toEqual({
      reservations: [
        {
          reservationId,
          userId: user.userId,
          concertId,
          date: DATE,
          seatNo: expect.any(Number),
          price: paid.body.amount,
          status: 'CONFIRMED',
          heldUntil: expect.any(String),
        },
      ],
      nextCursor: null,
    });
    const payments = await get('/v1/me/payments', identity);
    expect(payments.body).toEqual({
      payments: [expect.objectContaining({ paymentId: paid.body.paymentId, reservationId, amount: paid.body.amount })],
      nextCursor: null,
    });
    // The same list as the queue-token route, apart from the cursor field.
    const other = await activeUser();
    expect((await get('/v1/me/payments', await identityFor(other.userId))).body.payments).toEqual([]);
  });

  it('when a hold has lapsed but is not released yet, then it reads EXPIRED like GET /v1/reservations/{id}', async () => {
    const user = await activeUser();
    const reservationId = await hold(user);
    await lapseHold(stack.db.dataSource, reservationId);
    const one = await request(stack.app).get(`/v1/reservations/${reservationId}`).set(user.auth);
    const list = await get('/v1/me/reservations', await identityFor(user.userId));
    expect(list.body.reservations).toEqual([one.body]);
    expect(list.body.reservations[0].status).toBe('EXPIRED');
  });

  it('when the user has 5 reservations, then pages of 2 walk them newest first with nextCursor, null on the last', async () => {
    const user = await activeUser();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await hold(user));
    // Made oldest to newest; the 2nd and 3rd share a creation time (ties go by id).
    const at = ['2026-01-01 00:00:01', '2026-01-01 00:00:02', '2026-01-01 00:00:02', '2026-01-01 00:00:03'];
    for (const [i, time] of at.entries())
      await stack.db.dataSource.query('UPDATE reservations SET created_at = ? WHERE id = ?', [time, ids[i]]);
    await stack.db.dataSource.query('UPDATE reservations SET created_at = ? WHERE id = ?', [
      '2026-01-01 00:00:04',
      ids[4],
    ]);
    const tied = [ids[1]!, ids[2]!].sort().reverse();
    const newestFirst = [ids[4], ids[3], ...tied, ids[0]];

    const identity = await identityFor(user.userId);
    const all = await get('/v1/me/reservations', identity);
    expect(idsOf(all.body)).toEqual(newestFirst);
    expect(all.body.nextCursor).toBeNull();

    const walked: string[] = [];
    const cursors: Array<string | null> = [];
    let path = '/v1/me/reservations?limit=2';
    for (;;) {
      const page = await get(path, identity);
      expect(page.status).toBe(200);
      walked.push(...idsOf(page.body));
      cursors.push(page.body.nextCursor);
      if (page.body.nextCursor === null) break;
      path = `/v1/me/reservations?limit=2&before=${page.body.nextCursor}`;
    }
    expect(walked).toEqual(newestFirst);
    expect(cursors).toHaveLength(3);
    expect(cursors[2]).toBeNull();
  });

  it('when ?limit or ?before is malformed, then 400 VALIDATION_FAILED names the parameter', async () => {
    const identity = await identityFor(randomUUID());
    for (const [path, field] of [
      ['/v1/me/reservations?limit=0', 'limit'],
      ['/v1/me/reservations?limit=201', 'limit'],
      ['/v1/me/reservations?before=12', 'before'],
      ['/v1/me/payments?limit=abc', 'limit'],
      ['/v1/me/payments?before=not-a-cursor', 'before'],
    ] as const) {
      const res = await get(path, identity);
      expect([path, res.status, res.body.error?.code]).toEqual([path, 400, 'VALIDATION_FAILED']);
      expect(res.body.error.message).toMatch(new RegExp(`^${field}`));
    }
  });

  it('when the user has no payments yet but a balance, then /v1/me shows it', async () => {
    const user = await activeUser(12_345);
    expect((await get('/v1/me', await identityFor(user.userId))).body).toEqual({
      userId: user.userId,
      balance: 12_345,
    });
  });
});

describe('POST /v1/dev/identity (development only)', () => {
  let stack: InProcessStack;
  beforeAll(async () => {
    stack = await startInProcessStack(testConfig(), { worker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when a userId is given, then the token it returns is that user’s identity', async () => {
    const userId = randomUUID();
    const res = await request(stack.app).post('/v1/dev/identity').send({ userId });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ identityToken: expect.any(String) });
    const me = await request(stack.app)
      .get('/v1/me')
      .set({ Authorization: `Bearer ${res.body.identityToken}` });
    expect(me.body).toEqual({ userId, balance: 0 });
  });

  it('when the body is empty, then the token is for a new random user', async () => {
    const tokens = await Promise.all([1, 2].map(() => request(stack.app).post('/v1/dev/identity').send({})));
    const users = await Promise.all(
      tokens.map(
        async (t) =>
          (
            await request(stack.app)
              .get('/v1/me')
              .set({ Authorization: `Bearer ${t.body.identityToken}` })
          ).body.userId as string,
      ),
    );
    expect(users[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(users[0]).not.toBe(users[1]);
  });

  it('when the userId is not a UUID, then 400 VALIDATION_FAILED', async () => {
    const res = await request(stack.app).post('/v1/dev/identity').send({ userId: 'alice' });
    expect([res.status, res.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('when NODE_ENV=production, then the route does not exist (404 NOT_FOUND)', async () => {
    const app = createApp({ ...stack.deps, config: { ...stack.deps.config, production: true }, shutdownHooks: [] });
    const res = await request(app).post('/v1/dev/identity').send({ userId: randomUUID() });
    expect([res.status, res.body.error?.code]).toEqual([404, 'NOT_FOUND']);
  });
});
