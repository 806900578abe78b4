import { NativeConnection, Worker } from '@temporalio/worker';
import request from 'supertest';
import { createActivities } from '../../src/activities';
import { WORKFLOW_CALL_DEADLINE_MS } from '../../src/temporal';
import { reservationTaskQueue } from '../../src/shared/ids';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { tokenFor } from '../helpers/auth';
import { testConfig } from '../../scripts/lib/config';
import { validateResponse } from '../helpers/openapi';
import { until } from '../../scripts/lib/wait';

describe('holds while no worker runs (API, no worker)', () => {
  let stack: InProcessStack;
  const adminKey = { 'X-Admin-Key': 'no-worker-test-admin-key' };

  beforeAll(async () => {
    stack = await startInProcessStack(testConfig({ adminApiKey: adminKey['X-Admin-Key'] }), { worker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when no worker picks up the hold, then the client gets 503 with Retry-After after the deadline, and the hold completed later is cancelled', async () => {
    const created = await request(stack.app)
      .post('/v1/admin/concerts')
      .set(adminKey)
      .send({ title: 'No worker', dates: ['2099-12-24'], price: 1_000 });
    expect(created.status).toBe(201);
    const user = await tokenFor({ ...stack.deps, tokenSecret: stack.deps.config.tokenSecret });
    const started = Date.now();
    const res = validateResponse(
      await request(stack.app)
        .post('/v1/reservations')
        .set(user.auth)
        .send({ concertId: created.body.concertId, date: '2099-12-24', seatNo: 5 }),
    );
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(WORKFLOW_CALL_DEADLINE_MS - 100);
    // The claim was dropped, so once a worker is back the seat can be held.
    expect(await stack.redis.hget(stack.deps.keys.seatState(created.body.concertId, '2099-12-24'), '5')).toBeNull();
    const [seat] = await stack.db.dataSource.query(
      'SELECT s.status FROM seats s JOIN performances p ON p.id = s.performance_id WHERE p.concert_id = ? AND s.seat_no = 5',
      [created.body.concertId],
    );
    expect(seat.status).toBe('AVAILABLE');

    // A worker arrives late and completes the hold the client was told had failed: the API's
    // cancel of that undelivered hold releases it again.
    const connection = await NativeConnection.connect({ address: stack.deps.config.temporalAddress });
    const worker = await Worker.create({
      connection,
      taskQueue: reservationTaskQueue(stack.deps.config.taskQueue),
      workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! },
      activities: createActivities(stack.deps),
    });
    await worker.runUntil(async () => {
      const rows = await until(
        'the undelivered hold is no longer HELD',
        (): Promise<Array<{ status: string }>> =>
          stack.db.dataSource.query('SELECT status FROM reservations WHERE user_id = ?', [user.userId]),
        (found) => found.length > 0 && found.every((r) => r.status !== 'HELD'),
      );
      expect(rows.map((r) => r.status)).toEqual(['CANCELLED']);
      const [after] = await stack.db.dataSource.query(
        'SELECT s.status FROM seats s JOIN performances p ON p.id = s.performance_id WHERE p.concert_id = ? AND s.seat_no = 5',
        [created.body.concertId],
      );
      expect(after.status).toBe('AVAILABLE');
    });
    await connection.close();
  }, 60_000);
});
