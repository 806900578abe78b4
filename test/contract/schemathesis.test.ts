import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import request from 'supertest';
import { ensureSchemathesis } from '../../scripts/provision';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { tokenFor } from '../helpers/auth';
import { testConfig } from '../helpers/config';
import { OPENAPI_FILE } from '../helpers/openapi';

/**
 * The contract fuzzed: Schemathesis runs every phase (examples, coverage, fuzzing, stateful
 * links) and every check against the real app (in-process API on a free port, with a worker),
 * authenticated per security scheme of docs/openapi.yaml. It must report no failure and no error.
 */

const ADMIN_KEY = 'contract-fuzz-admin-key';
/** Fixed, so a failure found once is found again. */
const SEED = 20261130;
/** Per operation and phase: keeps the whole run near two minutes on the 2-core box. */
const MAX_EXAMPLES = 12;
/** About 75-150 s on a quiet 2-core box; several times that when the box is shared. */
const RUN_TIMEOUT_MS = 12 * 60_000;

/** A performance date `days` from today (UTC): future dates stay on sale (API.md v1.1). */
const dayFromToday = (days: number): string => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * Schemathesis configuration. Secrets come from the environment (`${…}`), so neither the file
 * nor the log holds them. Each check is on; where a check's default expectation cannot hold for
 * an operation, that operation (only) gets an override, with the reason beside it.
 */
function schemathesisToml(): string {
  return `# Written by test/contract/schemathesis.test.ts for one run.
seed = ${SEED}
workers = 1
request-timeout = 15
# The SSE stream of a live (WAITING or ACTIVE) entry never ends by itself: read its first event
# (sent at once on connect) and validate that.
max-stream-events = 1

# No state carried between runs (crash replays, learned examples): each run is the seed's alone.
[cache]
enabled = false

[generation]
max-examples = ${MAX_EXAMPLES}
database = "none"

[auth.openapi.identity]
bearer = "\${ST_IDENTITY_TOKEN}"

[auth.openapi.queueToken]
bearer = "\${ST_QUEUE_TOKEN}"

[auth.openapi.adminKey]
api_key = "\${ST_ADMIN_KEY}"

[checks]
enabled = true

# Balance and payment-history paths must name the token's own user (any other is 403
# FORBIDDEN by design), and an operator looks up a user with a live entry: outside the
# stateful links (which carry the userId from POST /v1/queue/tokens), use the fuzzer's user.
[[operations]]
include-path-regex = "^/v1/(users|admin/queue/users)/[{]userId[}]"
parameters = { "path.userId" = "\${ST_USER_ID}" }

# Holding a seat when the user already holds MAX_HOLDS_PER_USER, or a generated seat that
# someone holds, is a valid body answered 409 (already expected). Paying a valid body can be
# 402 INSUFFICIENT_BALANCE: the balance is state, not part of the request.
[[operations]]
include-operation-id = "createPayment"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "402", "403", "404", "409"]

# A valid charge is refused 400 BALANCE_LIMIT_EXCEEDED once the balance would pass MAX_BALANCE:
# state again (API.md), so a valid amount may meet 400 after enough charges.
[[operations]]
include-operation-id = "chargeBalance"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "409"]
`;
}

interface RunResult {
  code: number | null;
  output: string;
  junit: string;
  elapsedMs: number;
}

/** Runs `st run` as a child process (the app answers on this process's event loop meanwhile). */
function runSchemathesis(st: string, args: string[], env: Record<string, string>, logFile: string): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(st, args, {
      env: { ...process.env, ...env, NO_COLOR: '1', PYTHONUNBUFFERED: '1' },
      // Schemathesis keeps per-project files in its working directory: not in the checkout.
      cwd: path.dirname(logFile),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      writeFileSync(logFile, output);
      resolve({ code, output, junit: '', elapsedMs: Date.now() - started });
    });
  });
}

/** Failures and errors counted from a JUnit report: `<testsuite … failures="n" errors="n">`. */
function junitCounts(junit: string): { tests: number; failures: number; errors: number } {
  const sum = (attr: string): number =>
    [...junit.matchAll(new RegExp(`<testsuite\\b[^>]*\\b${attr}="(\\d+)"`, 'g'))].reduce(
      (total, m) => total + Number(m[1]),
      0,
    );
  return { tests: sum('tests'), failures: sum('failures'), errors: sum('errors') };
}

/** The part of Schemathesis's output that explains failures, for the jest message. */
function failureSummary(output: string): string {
  const start = output.search(/^=+ (FAILURES|ERRORS) =+$/m);
  const text = start >= 0 ? output.slice(start) : output;
  return text.length > 20_000 ? `${text.slice(0, 20_000)}\n… (cut; the whole log is in the file named above)` : text;
}

describe('the HTTP contract fuzzed with Schemathesis', () => {
  let stack: InProcessStack;
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    stack = await startInProcessStack(testConfig({ adminApiKey: ADMIN_KEY }));
    server = stack.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    baseUrl = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await stack?.stop();
  });

  /** An identity token for `userId`: from the development route when the app has it, else signed here. */
  async function identityFor(userId: string): Promise<string> {
    const res = await request(stack.app).post('/v1/dev/identity').send({ userId });
    if (res.status === 200 && typeof (res.body as { identityToken?: unknown }).identityToken === 'string') {
      return (res.body as { identityToken: string }).identityToken;
    }
    const secret = stack.deps.config.tokenSecret;
    return new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
  }

  it(
    'when every phase and check runs against the app, then Schemathesis reports no failure and no error',
    async () => {
      const st = ensureSchemathesis();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'concert-schemathesis-'));

      // What the fuzzer needs to reach success paths: a concert on sale, an ACTIVE token with money, its identity.
      const concert = await request(stack.app)
        .post('/v1/admin/concerts')
        .set('X-Admin-Key', ADMIN_KEY)
        .send({ title: 'Contract fuzz', dates: [dayFromToday(30), dayFromToday(31)], price: 10_000 });
      expect(concert.status).toBe(201);
      const buyer = await tokenFor(
        { ...stack.deps, tokenSecret: stack.deps.config.tokenSecret },
        { status: 'ACTIVE', balance: 500_000_000, activeForMs: 60 * 60_000 },
      );
      const identity = await identityFor(buyer.userId);

      const configFile = path.join(dir, 'schemathesis.toml');
      writeFileSync(configFile, schemathesisToml());
      const junitFile = path.join(dir, 'junit.xml');
      const logFile = path.join(dir, 'schemathesis.log');
      const args = [
        '--config-file',
        configFile,
        'run',
        OPENAPI_FILE,
        '--url',
        baseUrl,
        '--workers',
        '1',
        '--phases=examples,coverage,fuzzing,stateful',
        '--checks',
        'all',
        '--max-examples',
        String(MAX_EXAMPLES),
        '--seed',
        String(SEED),
        '--report',
        'junit',
        '--report-junit-path',
        junitFile,
        '--no-color',
        // For a deeper local triage, e.g. CONTRACT_ST_ARGS=--continue-on-failure (one run goes on past a failure).
        ...(process.env.CONTRACT_ST_ARGS?.split(' ').filter(Boolean) ?? []),
      ];
      const result = await runSchemathesis(
        st,
        args,
        { ST_IDENTITY_TOKEN: identity, ST_QUEUE_TOKEN: buyer.token, ST_ADMIN_KEY: ADMIN_KEY, ST_USER_ID: buyer.userId },
        logFile,
      );
      let junit = '';
      try {
        junit = readFileSync(junitFile, 'utf8');
      } catch {
        throw new Error(`Schemathesis wrote no report (exit ${String(result.code)}):\n${result.output.slice(-5000)}`);
      }
      const counts = junitCounts(junit);
      const summary = `st ${args.join(' ')}\nexit ${String(result.code)} after ${Math.round(result.elapsedMs / 1000)} s; log ${logFile}, report ${junitFile}\n`;
      if (result.code !== 0 || counts.failures > 0 || counts.errors > 0) {
        throw new Error(`${summary}${JSON.stringify(counts)}\n${failureSummary(result.output)}`);
      }
      expect(counts.tests).toBeGreaterThan(20);
      expect(counts).toEqual({ tests: counts.tests, failures: 0, errors: 0 });
      expect(result.code).toBe(0);
    },
    RUN_TIMEOUT_MS + 60_000,
  );
});
