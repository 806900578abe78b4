import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SA } from '../../src/shared/search-attributes';

/** temporal.api.enums.v1.IndexedValueType numbers for the types our attributes use. */
const INDEXED_VALUE_TYPE = { KEYWORD: 2, INT: 3 } as const;

/**
 * A time-skipping environment backed by the Java SDK's test server (resolved by
 * scripts/provision.ts), so workflow timers of minutes pass in milliseconds. The test
 * server knows no custom search attributes until they are registered.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = process.env.TEST_SERVER_PATH;
  if (!path) throw new Error('TEST_SERVER_PATH is not set; run tests through jest (test/helpers/global-setup.ts)');
  const env = await startTestServer(path);
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.values(SA).map((key) => [key.name, INDEXED_VALUE_TYPE[key.type]])),
  });
  return env;
}

/** Connects to the shared dev server started by the global setup. */
export async function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set');
  return TestWorkflowEnvironment.createFromExistingServer({ address });
}

/**
 * The SDK gives the server's JVM 5 s to listen; on a loaded machine that is sometimes too
 * short, so a start that timed out is tried again (a slow start says nothing about the code).
 */
async function startTestServer(path: string, attempts = 4): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path } },
      });
    } catch (err) {
      if (attempt >= attempts || !/did not start within/.test(String(err))) throw err;
    }
  }
}
