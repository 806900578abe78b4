import { randomUUID } from 'node:crypto';
import type { WorkflowHandleWithFirstExecutionRunId as WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createQueueActivities } from '../../src/activities/queue';
import { TokenService } from '../../src/api/tokens';
import { queueSettingsView } from '../../src/queue/admin';
import type { Services } from '../../src/services';
import { admissionWorkflowId, entryStateQuery, queueEntryWorkflowId } from '../../src/shared';
import { queueAdmissionWorkflow } from '../../src/workflows';
import { testConfig } from '../../scripts/lib/config';
import { createTestDatabase } from '../../scripts/lib/db';
import type { TestDatabase } from '../../scripts/lib/db';
import { createTestRedis } from '../../scripts/lib/redis';
import type { TestRedis } from '../../scripts/lib/redis';
import { testServices } from '../helpers/services';
import { createTimeSkippingEnv, withTestWorker } from '../helpers/temporal';
import { until } from '../../scripts/lib/wait';

/**
 * The admission loop with the REAL queue activities against real Redis (own key prefix) and
 * MySQL (settings), in the time-skipping environment; admitted entries' workflows run too.
 */
describe('queue admission workflow (time-skipping, real Redis)', () => {
  let env: TestWorkflowEnvironment;
  let db: TestDatabase;
  const opened: TestRedis[] = [];
  const tokens = new TokenService('test-secret-of-sufficient-length');

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const r of opened) await r.cleanup();
    await db?.drop();
    await env?.teardown();
  });

  async function setup(
    fn: (ctx: {
      services: Services;
      redis: TestRedis['redis'];
      keys: TestRedis['keys'];
      ticks: () => number;
      start: (ticksPerRun: number) => Promise<WorkflowHandle<typeof queueAdmissionWorkflow>>;
      enqueue: () => Promise<string>;
    }) => Promise<void>,
  ): Promise<void> {
    const config = testConfig({ queueMaxActive: 100, queueAdmitPerSecond: 100_000 });
    const r = createTestRedis(config.redisKeyPrefix);
    opened.push(r);
    const services = testServices({
      dataSource: db.dataSource,
      redis: r.redis,
      keys: r.keys,
      config,
      temporal: env.client,
    });
    await services.queueSettings.update({ paused: false });
    const { queue } = services;
    const real = createQueueActivities(services);
    let tickCount = 0;
    const activities = {
      ...real,
      admitTick: async () => {
        tickCount++;
        return real.admitTick();
      },
    };
    const handles: Array<WorkflowHandle<typeof queueAdmissionWorkflow>> = [];
    await withTestWorker(env, { activities, taskQueue: config.taskQueue }, async () => {
      await fn({
        services,
        redis: r.redis,
        keys: r.keys,
        ticks: () => tickCount,
        start: async (ticksPerRun) => {
          const handle = await env.client.workflow.start(queueAdmissionWorkflow, {
            workflowId: admissionWorkflowId(config.taskQueue),
            taskQueue: config.taskQueue,
            args: [{ ticksPerRun, tickMs: 50 }],
          });
          handles.push(handle);
          return handle;
        },
        enqueue: async () => {
          const userId = randomUUID();
          await queue.enter(userId, tokens);
          return userId;
        },
      });
      for (const handle of handles) await handle.terminate('test over');
    });
  }

  it('when the loop continues as new, then the next run keeps admitting', async () => {
    await setup(async ({ services, redis, keys, ticks, start, enqueue }) => {
      const first = await enqueue();
      const handle = await start(2);
      await until('the first user is admitted', async () => (await redis.zscore(keys.active, first)) !== null);
      // Two ticks per run: after five ticks at least two new runs have started.
      await until('five ticks ran', async () => ticks() >= 5);
      const latest = await env.client.workflow.getHandle(handle.workflowId).describe();
      expect(latest.runId).not.toBe(handle.firstExecutionRunId);
      expect(latest.status.name).toBe('RUNNING');

      const later = await enqueue();
      await until('the later user is admitted', async () => (await redis.zscore(keys.active, later)) !== null);
      expect((await services.queue.counts()).active).toBe(2);
      // Each admitted user's entry workflow was started by the tick, ACTIVE with its window.
      for (const userId of [first, later]) {
        const entry = env.client.workflow.getHandle(queueEntryWorkflowId(userId));
        expect((await entry.query(entryStateQuery)).status).toBe('ACTIVE');
        expect(await services.queue.lookup(userId)).toMatchObject({ workflowId: queueEntryWorkflowId(userId) });
      }
    });
  });

  it('when the queue is paused, then ticks admit nobody until it is resumed', async () => {
    await setup(async ({ services, redis, keys, ticks, start, enqueue }) => {
      await services.queueSettings.update({ paused: true });
      const users = [await enqueue(), await enqueue(), await enqueue()];
      await start(3);
      await until('eight ticks ran', async () => ticks() >= 8);
      expect(await redis.zcard(keys.active)).toBe(0);
      expect(await redis.zrange(keys.waiting, 0, -1)).toEqual(users);
      expect(await queueSettingsView(services)).toMatchObject({ waiting: 3, active: 0, paused: true });

      // The same loop admits them once resumed (so the pause, not the setup, held them back).
      await services.queueSettings.update({ paused: false });
      await until('all three are admitted', async () => (await redis.zcard(keys.active)) === 3);
      expect(await redis.zcard(keys.waiting)).toBe(0);
    });
  });
});
