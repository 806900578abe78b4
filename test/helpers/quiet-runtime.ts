import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

/**
 * Test output stays quiet when green: in-process workers log only errors (their INFO lines and
 * the warnings for refusals the tests provoke on purpose would bury the jest report). Worker
 * processes started by the tests log to files instead (scripts/lib/stack.ts).
 */
try {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
} catch {
  // A runtime is already installed in this process: keep it.
}
