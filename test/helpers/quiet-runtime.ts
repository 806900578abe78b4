import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';

/**
 * Test output stays quiet when green: in-process workers log only errors (their INFO lines and
 * the warnings for refusals the tests provoke on purpose would bury the jest report). Worker
 * processes started by the tests log to files instead (scripts/lib/stack.ts). Core's own lines go
 * straight to the console: forwarding them to the logger holds a native handle that keeps jest from
 * exiting in files that never create a worker (the runtime shuts down only after its last worker).
 */
try {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), console: {} } },
  });
} catch {
  // A runtime is already installed in this process: keep it.
}

// The measurements tests print (rates, lateness) as one line each: jest's own console frames
// every call with a header and a stack line, which tripled the report.
globalThis.console = new console.Console({ stdout: process.stdout, stderr: process.stderr });
