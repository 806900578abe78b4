import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createReservationActivities } from '../../src/activities/reservations';
import { createConcert } from '../../src/seats/concerts';
import {
  cancelUpdate,
  holdUpdate,
  reservationWorkflowId,
  type HoldRequest,
  type ReleaseRequest,
} from '../../src/shared';
import { reservationWorkflow } from '../../src/workflows';
import { testConfig } from '../../scripts/lib/config';
import { createTestDatabase, type TestDatabase } from '../../scripts/lib/db';
import { createTestRedis, type TestRedis } from '../../scripts/lib/redis';
import { testServices } from '../helpers/services';
import { createTimeSkippingEnv, workflowsOption } from '../helpers/temporal';

const HOLD_SECONDS = 300;
const DATE = '2099-12-24';

/** The reservation workflow with the real hold/release activities on MariaDB and Redis, five minutes skipped. */
describe('reservation workflow with real seat activities (time-skipping)', () => {
  let env: TestWorkflowEnvironment;
  let db: TestDatabase;
  let r: TestRedis;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `tq-${randomUUID()}`;
  const config = testConfig({ seatHoldSeconds: HOLD_SECONDS });
  /** Workflow time at which each release ran. */
  const releasedAt = new Map<string, number>();

  beforeAll(async () => {
    db = await createTestDatabase();
    r = createTestRedis(config.redisKeyPrefix);
  });
  afterAll(async () => {
    await r?.cleanup();
    await db?.drop();
  });

  // A fresh test server per test: the activities stamp heldUntil with the real clock, so workflow
  // time must not have been skipped ahead by an earlier test.
  beforeEach(async () => {
    env = await createTimeSkippingEnv();
    const seats = createReservationActivities(
      testServices({ dataSource: db.dataSource, redis: r.redis, keys: r.keys, config }),
    );
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...workflowsOption(),
      activities: {
        holdSeat: (request: HoldRequest) => seats.holdSeat(request),
        releaseSeat: async (request: ReleaseRequest) => {
          releasedAt.set(request.reservationId, await env.currentTimeMs());
          return seats.releaseSeat(request);
        },
      },
    });
    running = worker.run();
  });
  afterEach(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  async function hold(seatNo: number) {
    const { concertId } = await createConcert(db.dataSource, { title: 'Workflow + DB', dates: [DATE], price: 1000 });
    const userId = randomUUID();
    await db.dataSource.query('INSERT INTO users (id) VALUES (?)', [userId]);
    const request: HoldRequest = { reservationId: randomUUID(), userId, concertId, date: DATE, seatNo };
    const startOp = new WithStartWorkflowOperation(reservationWorkflow, {
      workflowId: reservationWorkflowId(concertId, DATE, seatNo),
      taskQueue,
      args: [{ concertId, date: DATE, seatNo }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    const view = await env.client.workflow.executeUpdateWithStart(holdUpdate, {
      args: [request],
      startWorkflowOperation: startOp,
    });
    return { view, request, handle: await startOp.workflowHandle() };
  }

  async function seatAndReservation(reservationId: string) {
    const [row] = await db.dataSource.query(
      `SELECT s.status AS seat, s.reservation_id AS holder, r.status AS reservation
         FROM reservations r JOIN seats s ON s.id = r.seat_id WHERE r.id = ?`,
      [reservationId],
    );
    return row as { seat: string; holder: string | null; reservation: string };
  }

  it('when the user cancels, then MySQL frees the seat at once and records CANCELLED', async () => {
    const { view, request, handle } = await hold(22);
    expect(Date.parse(view.heldUntil) - (await env.currentTimeMs())).toBeGreaterThan((HOLD_SECONDS - 5) * 1000);
    const cancelled = await handle.executeUpdate(cancelUpdate, {
      args: [{ reservationId: view.reservationId, userId: request.userId }],
    });
    expect(cancelled).toEqual({ ...view, status: 'CANCELLED' });
    expect(await seatAndReservation(view.reservationId)).toEqual({
      seat: 'AVAILABLE',
      holder: null,
      reservation: 'CANCELLED',
    });
    expect((await handle.result()).reservation?.status).toBe('CANCELLED');
  });

  it('when a hold is not paid, then after SEAT_HOLD_SECONDS of workflow time MySQL frees the seat and records EXPIRED', async () => {
    const { view, request, handle } = await hold(21);
    expect(await seatAndReservation(view.reservationId)).toEqual({
      seat: 'HELD',
      holder: view.reservationId,
      reservation: 'HELD',
    });
    const heldAt = await env.currentTimeMs();
    const result = await handle.result();
    const elapsedSeconds = (releasedAt.get(view.reservationId)! - heldAt) / 1000;

    expect(result.reservation?.status).toBe('EXPIRED');
    expect(elapsedSeconds).toBeGreaterThanOrEqual(HOLD_SECONDS - 1);
    expect(elapsedSeconds).toBeLessThan(HOLD_SECONDS + 5);
    expect(await seatAndReservation(view.reservationId)).toEqual({
      seat: 'AVAILABLE',
      holder: null,
      reservation: 'EXPIRED',
    });
    expect(await r.redis.hget(r.keys.seatState(request.concertId, DATE), '21')).toBeNull();
  });
});
