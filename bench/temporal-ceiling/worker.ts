/**
 * The Temporal ceiling's worker, in its own process like the service's worker:
 * `node --import tsx bench/temporal-ceiling/worker.ts` with TEMPORAL_ADDRESS and
 * TEMPORAL_TASK_QUEUE. Prints "worker running" once it polls; stops on SIGTERM.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  const worker = await Worker.create({
    connection,
    taskQueue: process.env.TEMPORAL_TASK_QUEUE ?? 'bench-temporal-ceiling',
    workflowsPath: require.resolve('./workflows'),
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('worker running\n');
  await running;
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
