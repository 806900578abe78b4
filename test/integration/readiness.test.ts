import { startTcpProxy } from '../helpers/tcp-proxy';
import type { TcpProxy } from '../helpers/tcp-proxy';
import { until } from '../../scripts/lib/wait';
import { useStack } from '../helpers/stack';
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
  let mysqlProxy: TcpProxy | undefined;
  let redisProxy: TcpProxy | undefined;
  const h = useStack({
    apis: 1,
    workers: 0,
    // The api reaches MySQL and Redis through proxies the tests can cut.
    config: async (db) => {
      const dbUrl = new URL(db.url);
      mysqlProxy = await startTcpProxy('127.0.0.1', Number(dbUrl.port || 3306));
      redisProxy = await startTcpProxy('127.0.0.1', 6379);
      dbUrl.port = String(mysqlProxy.port);
      dbUrl.hostname = '127.0.0.1';
      return { databaseUrl: dbUrl.toString(), redisUrl: `redis://127.0.0.1:${redisProxy.port}` };
    },
  });
  afterAll(async () => {
    await mysqlProxy?.close();
    await redisProxy?.close();
  });

  it('when MySQL becomes unreachable, then /readyz answers 503 naming it while the API keeps answering, and recovers', async () => {
    expect((await readyz(h.api())).status).toBe(200);
    await mysqlProxy!.cut();
    const down = await until(
      '/readyz answers 503',
      () => readyz(h.api()),
      (r) => r.status === 503,
    );
    expect(down.status).toBe(503);
    expect(down.body.error?.message).toMatch(/MySQL/);
    expect(down.body.checks).toEqual({ MySQL: 'down', Redis: 'up', Temporal: 'up' });
    expect((await fetch(`${h.api()}/healthz`)).status).toBe(200);
    await mysqlProxy!.restore();
    expect(
      (
        await until(
          '/readyz answers 200 again',
          () => readyz(h.api()),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
  });

  it('when Redis becomes unreachable, then /readyz answers 503 naming Redis, and recovers', async () => {
    await redisProxy!.cut();
    const down = await until(
      '/readyz answers 503',
      () => readyz(h.api()),
      (r) => r.status === 503,
    );
    expect(down.body.error?.message).toMatch(/Redis/);
    expect(down.body.checks.Redis).toBe('down');
    await redisProxy!.restore();
    expect(
      (
        await until(
          '/readyz answers 200 again',
          () => readyz(h.api()),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
  });
});
