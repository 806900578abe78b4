import { testConfig } from '../../scripts/lib/config';
import { createTestDatabase } from '../../scripts/lib/db';
import type { TestDatabase } from '../../scripts/lib/db';
import { startStack } from '../../scripts/lib/stack';
import type { Stack } from '../../scripts/lib/stack';
import { startTcpProxy } from '../helpers/tcp-proxy';
import type { TcpProxy } from '../helpers/tcp-proxy';
import { until } from '../../scripts/lib/wait';
import { describeUnlessCluster } from '../helpers/cluster-profile';

async function readyz(
  url: string,
): Promise<{ status: number; body: { error?: { message: string }; checks: Record<string, string> } }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

describeUnlessCluster(
  "test/integration/readiness.test.ts cuts Redis through a TCP proxy in front of one redis-server; a Redis Cluster client follows the nodes' own addresses past such a proxy (the cluster's lost-master case is `npm run drill -- --profile=cluster`)",
)('readiness when a backing service goes down', () => {
  let db: TestDatabase;
  let mysqlProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let stack: Stack;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const dbUrl = new URL(db.url);
    mysqlProxy = await startTcpProxy('127.0.0.1', Number(dbUrl.port || 3306));
    redisProxy = await startTcpProxy('127.0.0.1', 6379);
    dbUrl.port = String(mysqlProxy.port);
    dbUrl.hostname = '127.0.0.1';
    stack = await startStack(
      testConfig({ databaseUrl: dbUrl.toString(), redisUrl: `redis://127.0.0.1:${redisProxy.port}` }),
      { apis: 1, workers: 0 },
    );
    url = stack.urls[0]!;
  });
  afterAll(async () => {
    await stack?.stop();
    await mysqlProxy?.close();
    await redisProxy?.close();
    await db?.drop();
  });

  it('when MySQL becomes unreachable, then /readyz answers 503 naming it while the API keeps answering, and recovers', async () => {
    expect((await readyz(url)).status).toBe(200);
    await mysqlProxy.cut();
    const down = await until(
      '/readyz answers 503',
      () => readyz(url),
      (r) => r.status === 503,
    );
    expect(down.status).toBe(503);
    expect(down.body.error?.message).toMatch(/MySQL/);
    expect(down.body.checks).toEqual({ MySQL: 'down', Redis: 'up', Temporal: 'up' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await mysqlProxy.restore();
    expect(
      (
        await until(
          '/readyz answers 200 again',
          () => readyz(url),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
  });

  it('when Redis becomes unreachable, then /readyz answers 503 naming Redis, and recovers', async () => {
    await redisProxy.cut();
    const down = await until(
      '/readyz answers 503',
      () => readyz(url),
      (r) => r.status === 503,
    );
    expect(down.body.error?.message).toMatch(/Redis/);
    expect(down.body.checks.Redis).toBe('down');
    await redisProxy.restore();
    expect(
      (
        await until(
          '/readyz answers 200 again',
          () => readyz(url),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
  });
});
