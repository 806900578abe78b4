import { randomUUID } from 'node:crypto';
import type { QueueTokenView } from '../../src/queue';
import { identityFor } from '../helpers/auth';
import { until } from '../../scripts/lib/wait';
import { useStack } from '../helpers/stack';

const DATE = '2099-12-24';

/** Polls `read` every 50 ms until `ok`, failing after `ms`. */
/**
 * Paying spends the queue token and frees its slot: with room for one active user, the one
 * waiting behind a paying user gets in once the payment is done, through the real queue
 * (tokens from POST /v1/queue/tokens, admission by the workers' admission loop).
 */
describe('a payment ends the queue turn (QUEUE_MAX_ACTIVE=1, 2 api + 2 worker processes)', () => {
  const h = useStack({
    poolSize: 5,
    config: { queueMaxActive: 1, queueAdmitPerSecond: 10, activeTokenTtlSeconds: 600, logLevel: 'warn' },
    apis: 2,
    workers: 2,
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const json = (token: string) => ({ 'Content-Type': 'application/json', ...bearer(token) });

  async function enqueue(userId: string, i: number): Promise<QueueTokenView> {
    const res = await fetch(`${h.api(i)}/v1/queue/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(await identityFor(userId, h.config)) },
      body: JSON.stringify({ userId }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as QueueTokenView;
  }

  async function current(token: string, i = 0): Promise<QueueTokenView> {
    const res = await fetch(`${h.api(i)}/v1/queue/tokens/current`, { headers: bearer(token) });
    expect(res.status).toBe(200);
    return (await res.json()) as QueueTokenView;
  }

  it('when the active user pays, then their token gets 403 on every funnel route and the next waiting user is admitted into the freed slot', async () => {
    const created = await fetch(`${h.api(0)}/v1/admin/concerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Admin-Key': h.config.adminApiKey },
      body: JSON.stringify({ title: 'Last slot', dates: [DATE], price: 30_000 }),
    });
    expect(created.status).toBe(201);
    const { concertId } = (await created.json()) as { concertId: string };

    const payer = randomUUID();
    const next = randomUUID();
    const { token } = await enqueue(payer, 0);
    await until(
      'the payer is ACTIVE',
      () => current(token),
      (v) => v.status === 'ACTIVE',
      15_000,
    );
    const waiting = await enqueue(next, 1);
    expect(waiting.status).toBe('WAITING');

    // The payer, admitted, charges, holds and pays; the other user waits all along (one slot).
    const charged = await fetch(`${h.api(1)}/v1/users/${payer}/balance/charge`, {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify({ amount: 30_000 }),
    });
    expect(charged.status).toBe(200);
    const held = await fetch(`${h.api(0)}/v1/reservations`, {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify({ concertId, date: DATE, seatNo: 7 }),
    });
    expect(held.status).toBe(201);
    const { reservationId } = (await held.json()) as { reservationId: string };
    expect((await current(waiting.token)).status).toBe('WAITING');

    const paid = await fetch(`${h.api(1)}/v1/payments`, {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify({ reservationId }),
    });
    expect(paid.status).toBe(201);
    expect(await paid.json()).toMatchObject({ reservationId, amount: 30_000, balance: 0 });

    // Spent at once: the answer came after the token was marked COMPLETED.
    expect((await current(token, 0)).status).toBe('COMPLETED');
    const funnel: Array<[string, string, unknown?]> = [
      ['GET', '/v1/concerts'],
      ['GET', `/v1/concerts/${concertId}/dates`],
      ['GET', `/v1/concerts/${concertId}/dates/${DATE}/seats`],
      ['POST', '/v1/reservations', { concertId, date: DATE, seatNo: 8 }],
      ['GET', `/v1/reservations/${reservationId}`],
      ['DELETE', `/v1/reservations/${reservationId}`],
      ['POST', '/v1/payments', { reservationId }],
      // Balance endpoints take WAITING or ACTIVE only.
      ['GET', `/v1/users/${payer}/balance`],
      ['POST', `/v1/users/${payer}/balance/charge`, { amount: 1 }],
      ['GET', `/v1/users/${payer}/balance/history`],
      ['GET', `/v1/users/${payer}/payments`],
    ];
    for (const [i, [method, path, body]] of funnel.entries()) {
      const res = await fetch(`${h.api(i)}${path}`, {
        method,
        headers: json(token),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const answer = (await res.json()) as { error?: { code: string } };
      expect([method, path, res.status, answer.error?.code]).toEqual([method, path, 403, 'TOKEN_NOT_ACTIVE']);
    }

    const started = Date.now();
    const admitted = await until(
      'the next user is ACTIVE',
      () => current(waiting.token, 1),
      (v) => v.status === 'ACTIVE',
      10_000,
    );
    console.log(`next waiting user admitted ${Date.now() - started} ms after the payment's 403 checks`);
    expect(admitted.position).toBe(0);
    const concerts = await fetch(`${h.api(0)}/v1/concerts`, { headers: bearer(waiting.token) });
    expect(concerts.status).toBe(200);
    // Nobody else slipped in: still one active slot in use.
    expect(await h.r.redis.zcard(h.r.keys.active)).toBe(1);
  }, 120_000);
});
