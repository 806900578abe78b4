import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { tokenFor } from '../helpers/auth';
import type { TestUser } from '../helpers/auth';
import { testConfig } from '../helpers/config';
import type { CheckedResponse } from '../helpers/openapi';
import { loadSpec, validateResponse } from '../helpers/openapi';

const ADMIN_KEY = 'docs-tour-admin-key';
/** Two performance days from a month ahead: on sale whenever the tests run (past dates are closed). */
const DATES = [30, 31].map((days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10));

/**
 * One walk through the whole API on the real app (in-process worker, fresh database and Redis
 * prefix): every operation of docs/openapi.yaml is called until it succeeds once, and every
 * answer on the way, success or not, must match the spec.
 */
describe('real responses against docs/openapi.yaml', () => {
  let stack: InProcessStack;
  const spec = loadSpec();
  /** `METHOD /template` of each operation that answered 2xx. */
  const succeeded = new Set<string>();

  beforeAll(async () => {
    stack = await startInProcessStack(testConfig({ adminApiKey: ADMIN_KEY }));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Validates the response against the spec and records the operation when it succeeded. */
  function check<R extends CheckedResponse>(res: R, expectedStatus: number): R {
    validateResponse(res);
    expect({ url: res.request.url, status: res.status }).toEqual({ url: res.request.url, status: expectedStatus });
    const op = spec.findOperation(res.request.method, new URL(res.request.url).pathname)!;
    if (res.status < 300) succeeded.add(`${op.method} ${op.path}`);
    return res;
  }

  const user = (status: 'ACTIVE' | 'WAITING', userId?: string, balance = 0): Promise<TestUser> =>
    tokenFor(
      { ...stack.deps, tokenSecret: stack.deps.config.tokenSecret },
      { status, balance, ...(userId ? { userId } : {}) },
    );

  it('when every operation is called on the real app, then each one succeeds once and every answer matches the spec', async () => {
    const app = stack.app;
    const admin = { 'X-Admin-Key': ADMIN_KEY };

    check(await request(app).get('/healthz'), 200);
    check(await request(app).get('/readyz'), 200);
    check(await request(app).get('/metrics'), 200);

    check(await request(app).get('/v1/admin/queue').set(admin), 200);
    check(await request(app).patch('/v1/admin/queue').set(admin).send({ admitPerSecond: 10 }), 200);
    const concert = check(
      await request(app)
        .post('/v1/admin/concerts')
        .set(admin)
        .send({ title: 'Docs tour', dates: DATES, price: 30_000, prices: { '1': 90_000 } }),
      201,
    );
    const concertId = (concert.body as { concertId: string }).concertId;

    // Identity (v1.1): the development route signs one for a user.
    const identityOf = async (userId: string): Promise<{ Authorization: string }> => {
      const res = check(await request(app).post('/v1/dev/identity').send({ userId }), 200);
      return { Authorization: `Bearer ${(res.body as { identityToken: string }).identityToken}` };
    };

    // The queue: a new entry (201), the same entry again (200), and its current state.
    const queuedUser = randomUUID();
    const queuedIdentity = await identityOf(queuedUser);
    check(await request(app).post('/v1/queue/tokens').send({}), 401);
    const entered = check(await request(app).post('/v1/queue/tokens').set(queuedIdentity).send({}), 201);
    check(await request(app).post('/v1/queue/tokens').set(queuedIdentity).send({ userId: queuedUser }), 200);
    check(await request(app).post('/v1/queue/tokens').set(queuedIdentity).send({ userId: randomUUID() }), 403);
    const queued = { Authorization: `Bearer ${(entered.body as { token: string }).token}` };
    check(await request(app).get('/v1/queue/tokens/current').set(queued), 200);
    check(await request(app).get(`/v1/admin/queue/users/${queuedUser}`).set(admin), 200);
    check(await request(app).get(`/v1/admin/queue/users/${randomUUID()}`).set(admin), 404);

    // The funnel with an ACTIVE token.
    const buyer = await user('ACTIVE');
    check(await request(app).get('/v1/concerts').set(buyer.auth), 200);
    check(await request(app).get(`/v1/concerts/${concertId}/dates`).set(buyer.auth), 200);
    check(await request(app).get(`/v1/concerts/${concertId}/dates/${DATES[0]}/seats`).set(buyer.auth), 200);
    check(await request(app).get(`/v1/concerts/${randomUUID()}/dates`).set(buyer.auth), 404);

    const first = check(
      await request(app).post('/v1/reservations').set(buyer.auth).send({ concertId, date: DATES[0], seatNo: 1 }),
      201,
    );
    const firstId = (first.body as { reservationId: string }).reservationId;
    check(await request(app).get(`/v1/reservations/${firstId}`).set(buyer.auth), 200);
    check(await request(app).delete(`/v1/reservations/${firstId}`).set(buyer.auth), 200);
    check(await request(app).delete(`/v1/reservations/${firstId}`).set(buyer.auth), 409);

    const balancePath = `/v1/users/${buyer.userId}/balance`;
    check(await request(app).get(balancePath).set(buyer.auth), 200);
    const charge = { ...buyer.auth, 'Idempotency-Key': `charge-${randomUUID()}` };
    check(await request(app).post(`${balancePath}/charge`).set(charge).send({ amount: 100_000 }), 200);
    check(await request(app).post(`${balancePath}/charge`).set(charge).send({ amount: 100_000 }), 200);
    check(await request(app).post(`${balancePath}/charge`).set(charge).send({ amount: 5 }), 409);
    check(await request(app).get(`${balancePath}/history`).set(buyer.auth), 200);

    const second = check(
      await request(app).post('/v1/reservations').set(buyer.auth).send({ concertId, date: DATES[1], seatNo: 2 }),
      201,
    );
    const pay = { ...buyer.auth, 'Idempotency-Key': `pay-${randomUUID()}` };
    const reservationId = (second.body as { reservationId: string }).reservationId;
    check(await request(app).post('/v1/payments').set(pay).send({ reservationId }), 201);
    check(await request(app).post('/v1/payments').set(pay).send({ reservationId }), 201);
    check(await request(app).get('/v1/concerts').set(buyer.auth), 403);

    // The spent token's stream sends its COMPLETED status and ends.
    const events = check(await request(app).get('/v1/queue/tokens/current/events').set(buyer.auth), 200);
    expect(events.text).toMatch(/^event: status\ndata: .*"status":"COMPLETED"/m);

    // Histories with a new WAITING token of the same user, a page at a time: one charge and one payment.
    const again = await user('WAITING', buyer.userId);
    check(await request(app).get(`/v1/users/${buyer.userId}/payments`).set(again.auth), 200);
    const page = check(await request(app).get(`${balancePath}/history?limit=1`).set(again.auth), 200);
    const { entries, nextCursor } = page.body as { entries: Array<{ type: string }>; nextCursor: string | null };
    expect([entries.map((e) => e.type), typeof nextCursor]).toEqual([['PAYMENT'], 'string']);
    const rest = check(
      await request(app).get(`${balancePath}/history?limit=1&before=${nextCursor}`).set(again.auth),
      200,
    );
    expect(rest.body).toEqual({ entries: [expect.objectContaining({ type: 'CHARGE' })], nextCursor: null });
    check(await request(app).get(`/v1/users/${randomUUID()}/payments`).set(again.auth), 403);

    // What the user can always see with the identity alone (v1.1), also with the token spent.
    const buyerIdentity = await identityOf(buyer.userId);
    check(await request(app).get('/v1/me').set(buyerIdentity), 200);
    check(await request(app).get('/v1/me').set(buyer.auth), 401);
    const tickets = check(await request(app).get('/v1/me/reservations?limit=1').set(buyerIdentity), 200);
    expect(typeof (tickets.body as { nextCursor: unknown }).nextCursor).toBe('string');
    const paid = check(await request(app).get('/v1/me/payments').set(buyerIdentity), 200);
    expect(paid.body).toEqual({
      payments: [expect.objectContaining({ reservationIds: [reservationId] })],
      nextCursor: null,
    });

    const all = spec.operations().map((op) => `${op.method} ${op.path}`);
    expect(all.filter((op) => !succeeded.has(op))).toEqual([]);
  });
});
