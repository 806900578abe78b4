import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type HoldRequest, type ReleaseRequest, type ReservationView } from '../../src/shared';
import { testConfig } from '../../scripts/lib/config';
import { createTestDatabase } from '../../scripts/lib/db';
import { startStack } from '../../scripts/lib/stack';
import { createDevServerEnv, holdRequest, startHold, withTestWorker } from '../helpers/temporal';

describe('toolchain against the Temporal dev server', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await createDevServerEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('when a hold is not paid, then a real worker releases it when its timer fires', async () => {
    const released: ReleaseRequest[] = [];
    let held: ReservationView | undefined;
    const activities = {
      holdSeat: async (req: HoldRequest): Promise<ReservationView> => {
        held = { ...req, price: 1000, status: 'HELD', heldUntil: new Date(Date.now() + 1000).toISOString() };
        return held;
      },
      releaseSeat: async (req: ReleaseRequest): Promise<ReservationView> => {
        released.push(req);
        return { ...held!, status: req.outcome };
      },
    };
    await withTestWorker(env, { activities }, async (taskQueue) => {
      const request = holdRequest({ seatNo: 3 });
      const { view, handle } = await startHold(env.client, taskQueue, request);
      const result = await handle.result();
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
