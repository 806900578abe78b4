import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  holdUpdate,
  reservationWorkflowId,
  type HoldRequest,
  type ReleaseRequest,
  type ReservationView,
} from '../../src/shared';
import { reservationWorkflow } from '../../src/workflows';
import { testConfig } from '../helpers/config';
import { createTestDatabase } from '../helpers/db';
import { startStack } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/temporal';

describe('toolchain against the Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await createDevServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('when a hold is not paid, then a real worker releases it when its timer fires', async () => {
    const taskQueue = `tq-${randomUUID()}`;
    const released: ReleaseRequest[] = [];
    let held: ReservationView | undefined;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! },
      activities: {
        holdSeat: async (req: HoldRequest): Promise<ReservationView> => {
          held = { ...req, price: 1000, status: 'HELD', heldUntil: new Date(Date.now() + 1000).toISOString() };
          return held;
        },
        releaseSeat: async (req: ReleaseRequest): Promise<ReservationView> => {
          released.push(req);
          return { ...held!, status: req.outcome };
        },
      },
    });
    await worker.runUntil(async () => {
      const concertId = randomUUID();
      const request = { reservationId: randomUUID(), userId: randomUUID(), concertId, date: '2099-12-24', seatNo: 3 };
      const startOp = new WithStartWorkflowOperation(reservationWorkflow, {
        workflowId: reservationWorkflowId(concertId, request.date, request.seatNo),
        taskQueue,
        args: [{ concertId, date: request.date, seatNo: request.seatNo }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      const view = await env.client.workflow.executeUpdateWithStart(holdUpdate, {
        args: [request],
        startWorkflowOperation: startOp,
      });
      const result = await (await startOp.workflowHandle()).result();
      expect(view.status).toBe('HELD');
      expect(result.reservation?.status).toBe('EXPIRED');
      expect(released).toEqual([{ reservationId: request.reservationId, outcome: 'EXPIRED' }]);
    });
  });

  it('when two api and two worker processes start, then every api is ready and tags responses with a request id', async () => {
    const db = await createTestDatabase();
    const stack = await startStack(testConfig({ databaseUrl: db.url }), { apis: 2, workers: 2 });
    try {
      for (const url of stack.urls) {
        const ready = await fetch(`${url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toEqual({ status: 'ready', checks: { MySQL: 'up', Redis: 'up', Temporal: 'up' } });
        const echoed = await fetch(`${url}/healthz`, { headers: { 'X-Request-Id': 'trace-me' } });
        expect(echoed.headers.get('x-request-id')).toBe('trace-me');
        const missing = await fetch(`${url}/v1/nope`);
        expect(missing.status).toBe(404);
        expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
      }
      expect(stack.workers).toHaveLength(2);
    } finally {
      await stack.stop();
      await db.drop();
    }
  });
});
