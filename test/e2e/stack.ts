import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Config } from '../../src/config';
import { testConfig } from '../../scripts/lib/config';
import { createTestDatabase, type TestDatabase } from '../../scripts/lib/db';
import { createTestRedis, type TestRedis } from '../../scripts/lib/redis';
import { startStack, type Stack } from '../../scripts/lib/stack';
import { launchChromium } from './chromium';

/** A performance date a month ahead (a past date is closed for sale). */
export const DATE = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

/** Where `npm run screens` keeps the page screenshots (written only when UPDATE_SCREENS is set). */
const SCREENS = path.resolve(__dirname, '../../docs/screens');

export interface E2e {
  config: Config;
  stack: Stack;
  browser: Browser;
  /** http://127.0.0.1:<port> of the api process. */
  url: string;
  concertId: string;
  concertTitle: string;
  /** A new browser context (its own storage: one buyer) with one page, language fixed to English. */
  newPage(lang?: 'en-US' | 'ko-KR'): Promise<Page>;
  /** An admin API call; returns the parsed body. */
  admin<T>(method: string, urlPath: string, body?: unknown): Promise<T>;
  /** A user who entered the line through the API (not a browser). */
  enterLine(): Promise<{ userId: string; token: string; status: string; position: number }>;
}

/**
 * One api and one worker process of the real service on a fresh database and Redis prefix, a
 * concert with one date, and a Chromium, for the tests of one file.
 */
export function useE2eStack(overrides: Partial<Config> = {}): E2e {
  const h = { contexts: [] as BrowserContext[] } as unknown as E2e & {
    db: TestDatabase;
    r: TestRedis;
    contexts: BrowserContext[];
  };

  beforeAll(async () => {
    h.db = await createTestDatabase(undefined, 5);
    h.config = testConfig({ databaseUrl: h.db.url, ...overrides });
    h.r = createTestRedis(h.config.redisKeyPrefix);
    [h.stack, h.browser] = await Promise.all([startStack(h.config, { apis: 1, workers: 1 }), launchChromium()]);
    h.url = h.stack.urls[0]!;
    h.concertTitle = `Winter Gala ${randomUUID().slice(0, 4)}`;
    const made = await h.admin<{ concertId: string }>('POST', '/v1/admin/concerts', {
      title: h.concertTitle,
      dates: [DATE],
      price: 50_000,
    });
    h.concertId = made.concertId;
  }, 180_000);

  afterAll(async () => {
    await h.browser?.close();
    await h.stack?.stop();
    await h.r?.cleanup();
    await h.db?.drop();
  });

  h.newPage = async (locale = 'en-US') => {
    const context = await h.browser.newContext({ locale, viewport: { width: 1000, height: 1100 } });
    h.contexts.push(context);
    return context.newPage();
  };

  h.admin = async <T>(method: string, urlPath: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${h.url}${urlPath}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-Admin-Key': h.config.adminApiKey },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  h.enterLine = async () => {
    const userId = randomUUID();
    const id = await fetch(`${h.url}/v1/dev/identity`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
    if (id.status !== 200) throw new Error(`POST /v1/dev/identity: ${id.status} ${await id.text()}`);
    const { identityToken } = (await id.json()) as { identityToken: string };
    const res = await fetch(`${h.url}/v1/queue/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${identityToken}` },
      body: JSON.stringify({ userId }),
    });
    if (res.status !== 201) throw new Error(`POST /v1/queue/tokens: ${res.status} ${await res.text()}`);
    return (await res.json()) as { userId: string; token: string; status: string; position: number };
  };

  return h;
}

/** Signs in on the buyer page with the development form (a new user) and waits for the line's answer. */
export async function signIn(page: Page, url: string): Promise<string> {
  await page.goto(`${url}/`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const who = page.locator('.who');
  await who.waitFor();
  await page.getByTestId('status').waitFor();
  return /Signed in as ([0-9a-f-]{36})/.exec(await who.innerText())![1]!;
}

/** Goes from an ACTIVE buyer page to the seat map of the test date. */
export async function openSeatMap(page: Page, concertTitle: string): Promise<void> {
  await page.getByRole('button', { name: concertTitle }).click();
  await page.locator(`button[data-date="${DATE}"]`).click();
  await page.locator('button[data-seat="50"]').waitFor();
}

/** The state the seat map shows for `seatNo`: free, selected, mine or taken. */
export const seatState = (page: Page, seatNo: number): Promise<string | null> =>
  page.locator(`button[data-seat="${seatNo}"]`).getAttribute('data-state');

/** Serious or critical axe-core violations on the page as it is now (rule id and the elements). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8') });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    return axe.run();
  });
  return (result.violations as Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown }> }>)
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

/** Saves docs/screens/<name>.png when the run regenerates the screenshots (npm run screens). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.UPDATE_SCREENS) return;
  mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENS, `${name}.png`), fullPage: true });
}

/** The seconds a countdown text ("4 min 59 s left", "3 s left") shows. */
export function countdownSeconds(text: string): number {
  const m = /(?:(\d+) min )?(\d+) s left/.exec(text);
  if (!m) throw new Error(`not a countdown: ${text}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2]);
}
