import type { ChildProcess } from 'node:child_process';

export default function globalTeardown(): void {
  const child = (globalThis as { __temporalDevServer?: ChildProcess }).__temporalDevServer;
  child?.kill('SIGTERM');
}
