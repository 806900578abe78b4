/**
 * The fault drills of `npm run drill` in their short form (scripts/lib/drills.ts): real api and
 * worker processes, an on-disk Temporal dev server and a private redis-server of this file,
 * each killed or restarted under load. Every drill asserts its invariants, read from MySQL,
 * Temporal and the API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config';
import { testConfig } from '../../scripts/lib/config';
import {
  SHORT,
  apiRestartDrill,
  redisRestartDrill,
  startDrillStack,
  temporalRestartDrill,
  workerKillDrill,
} from '../../scripts/lib/drills';
import type { DrillResult, DrillStack } from '../../scripts/lib/drills';
import { DevServer } from '../../scripts/lib/dev-server';
import { PrivateRedis } from '../../scripts/lib/redis';
import { describeUnlessCluster } from '../helpers/cluster-profile';

const failures = (r: DrillResult): string[] => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
const say = (msg: string): void => {
  if (process.env.DRILL_VERBOSE) process.stdout.write(`${msg}\n`);
};

describeUnlessCluster(
  'test/integration/drill.test.ts restarts its own on-disk Temporal dev server and private redis-server; the cluster drills are `npm run drill -- --profile=cluster`',
)('fault drills (short form of npm run drill)', () => {
  let dir: string;
  let temporal: DevServer | undefined;
  let redis: PrivateRedis | undefined;
  let base: Config;
  let stack: DrillStack | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'concert-drill-test-'));
    // Restartable on its own: the run's shared dev server is in memory.
    temporal = await DevServer.start(path.join(dir, 'temporal'), 'disk');
    redis = await PrivateRedis.start(path.join(dir, 'redis'));
    base = testConfig({ temporalAddress: temporal.address });
    stack = await startDrillStack(base, { seatHoldSeconds: SHORT.holdSeconds });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await redis?.down();
    await temporal?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('when one worker is killed mid sell-out and then all of them while winners pay, then every unpaid hold is released, no seat is sold twice and no payment is lost', async () => {
    const result = await workerKillDrill(stack!, SHORT, say);
    expect(failures(result)).toEqual([]);
  }, 180_000);

  it('when the Temporal dev server restarts while seats are held, then every hold timer still fires', async () => {
    const result = await temporalRestartDrill(stack!, temporal!, SHORT, say);
    expect(failures(result)).toEqual([]);
  }, 120_000);

  it('when an api process is killed and restarted during a token burst, then retries with the same user get the same entry', async () => {
    const result = await apiRestartDrill(stack!, temporal!, SHORT, say);
    expect(failures(result)).toEqual([]);
  }, 120_000);

  it('when Redis restarts empty while users wait, then /readyz says so, seats and money stay correct and waiting users re-enter and are admitted once the (durable) pause is lifted', async () => {
    await stack?.stop();
    const result = await redisRestartDrill(base, redis!, SHORT, say);
    expect(failures(result)).toEqual([]);
  }, 150_000);
});
