import { randomUUID } from 'node:crypto';
import type { WorkflowHandleWithFirstExecutionRunId as WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createQueueActivities } from '../../src/activities/queue';
import { TokenService } from '../../src/api/tokens';
import { QueueService } from '../../src/queue';
import { admissionWorkflowId } from '../../src/shared';
import { queueAdmissionWorkflow } from '../../src/workflows';
import { testConfig } from '../../scripts/lib/config';
import { createTestRedis } from '../../scripts/lib/redis';
import type { TestRedis } from '../../scripts/lib/redis';
import { createTimeSkippingEnv } from '../helpers/temporal';
import { until } from '../../scripts/lib/wait';

const workflowsOption = () =>
  process.env.WORKFLOW_BUNDLE_PATH
    ? { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('../../src/workflows') };

/**
 * The admission loop with the REAL queue activities against real Redis (own key prefix),
 * in the time-skipping environment.
 */
describe('queue admission workflow (time-skipping, real Redis)', () => {
  let env: TestWorkflowEnvironment;
  const opened: TestRedis[] = [];
  const tokens = new TokenService('test-secret-of-sufficient-length');

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    for (const r of opened) await r.cleanup();
    await env?.teardown();
  });

  async function setup(
    fn: (ctx: {
      queue: QueueService;
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
    const queue = new QueueService({ redis: r.redis, keys: r.keys, config });
    const real = createQueueActivities({ redis: r.redis, keys: r.keys, config, temporal: env.client });
    let tickCount = 0;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: config.taskQueue,
      ...workflowsOption(),
      activities: {
        ...real,
        admitTick: async () => {
          tickCount++;
          return real.admitTick();
        },
      },
    });
    const handles: Array<WorkflowHandle<typeof queueAdmissionWorkflow>> = [];
    await worker.runUntil(async () => {
      await fn({
        queue,
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
          const tokenId = randomUUID();
          await queue.enqueue(userId, tokenId, await tokens.sign({ userId, tokenId }));
          return userId;
        },
      });
      for (const handle of handles) await handle.terminate('test over');
    });
  }

  it('when the loop continues as new, then the next run keeps admitting', async () => {
    await setup(async ({ queue, redis, keys, ticks, start, enqueue }) => {
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
      expect((await queue.settings()).active).toBe(2);
    });
  });

  it('when the queue is paused, then ticks admit nobody until it is resumed', async () => {
    await setup(async ({ queue, redis, keys, ticks, start, enqueue }) => {
      await redis.hset(keys.queueConfig, 'paused', '1');
      const users = [await enqueue(), await enqueue(), await enqueue()];
      await start(3);
      await until('eight ticks ran', async () => ticks() >= 8);
      expect(await redis.zcard(keys.active)).toBe(0);
      expect(await redis.zrange(keys.waiting, 0, -1)).toEqual(users);
      expect(await queue.settings()).toMatchObject({ waiting: 3, active: 0, paused: true });

      // The same loop admits them once resumed (so the pause, not the setup, held them back).
      await redis.hset(keys.queueConfig, 'paused', '0');
      await until('all three are admitted', async () => (await redis.zcard(keys.active)) === 3);
      expect(await redis.zcard(keys.waiting)).toBe(0);
    });
  });
});
