import { rmSync } from 'node:fs';
import { stopChild } from '../../scripts/lib/process';
import { stopClusterProfile } from './cluster-profile';
import { setupState } from './global-setup';

/**
 * Once per `jest` run, in the parent process: stops what the global setup started. The dev
 * server's child-process handle keeps the parent's event loop alive until the server has
 * exited, and its graceful shutdown on SIGTERM takes about a second; so the teardown waits
 * for that exit (SIGKILL after a grace period) instead of only signalling, and jest then
 * exits by itself without its "did not exit one second after the test run" warning.
 */
export default async function globalTeardown(): Promise<void> {
  const { __temporalDevServer: child, __workflowBundle: bundle } = setupState;
  await Promise.all([stopChild(child, 'SIGTERM', 20_000), stopClusterProfile()]);
  if (bundle) rmSync(bundle, { force: true });
}
