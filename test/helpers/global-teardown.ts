import type { ChildProcess } from 'node:child_process';
import { stopClusterProfile } from './cluster-profile';

export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as { __temporalDevServer?: ChildProcess }).__temporalDevServer;
  child?.kill('SIGTERM');
  await stopClusterProfile();
}
