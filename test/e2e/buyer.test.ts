/// <reference lib="dom" />
// Callbacks of page.evaluate run in the browser.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { buyerFiles } from '../../scripts/build-web';
import { DATE, axeViolations, openSeatMap, screenshot, seatState, signIn, useE2eStack } from './stack';

const e2e = useE2eStack();

/** The seat map of `page` once `seatNo` shows `state` (the map refreshes every ~2 s). */
const seatBecomes = (page: Page, seatNo: number, state: string, timeout = 10_000) =>
  page.locator(`button[data-seat="${seatNo}"][data-state="${state}"]`).waitFor({ timeout });

describe('the buyer page in Chromium', () => {
  it('when the buyer page loads, then it transfers under 100 KB and its bundle is under 100 KB gzipped', async () => {
    const page = await e2e.newPage();
    await page.goto(`${e2e.url}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    const transferred = await page.evaluate(() =>
      [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
        .filter((entry) => !new URL(entry.name).pathname.startsWith('/v1/'))
        .reduce((sum, entry) => sum + (entry as PerformanceResourceTiming).transferSize, 0),
    );
    expect(transferred).toBeGreaterThan(1_000);
    expect(transferred).toBeLessThan(100 * 1024);
    const gzipped = buyerFiles().reduce((sum, file) => sum + gzipSync(readFileSync(file), { level: 9 }).length, 0);
    expect(gzipped).toBeLessThan(100 * 1024);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, '1-sign-in');
  });

  it('when a buyer signs in, holds two seats, charges and pays, then both are tickets and taken on the map', async () => {
    const page = await e2e.newPage();
    const other = await e2e.newPage();
    await signIn(page, e2e.url);
    await page.locator('[data-status="ACTIVE"]').waitFor({ timeout: 20_000 });
    await openSeatMap(page, e2e.concertTitle);

    // All 50 seats are on the map, every one free.
    const states = await page.locator('button[data-seat]').evaluateAll((els) => els.map((el) => el.dataset.state));
    expect(states).toEqual(Array(50).fill('free'));

    // Keyboard: focus a seat and press Space to select it.
    await page.locator('button[data-seat="11"]').press('Space');
    await page.locator('button[data-seat="12"]').press('Enter');
    expect(await seatState(page, 11)).toBe('selected');
    expect(await page.locator('button[data-seat="11"]').getAttribute('aria-pressed')).toBe('true');
    await page.getByRole('button', { name: 'Hold 2 selected seats' }).click();

    const holds = page.locator('[data-testid="hold"][data-state="held"]');
    await holds.nth(1).waitFor();
    expect(await holds.evaluateAll((els) => els.map((el) => el.dataset.seat))).toEqual(['11', '12']);
    expect(await seatState(page, 11)).toBe('mine');
    expect(await page.getByTestId('countdown').first().innerText()).toMatch(/^(4 min 5\d|5 min 0) s left$/);
    expect(await axeViolations(page)).toEqual([]);

    // Another buyer's map shows the held seats as taken.
    await signIn(other, e2e.url);
    await other.locator('[data-status="ACTIVE"]').waitFor({ timeout: 20_000 });
    await openSeatMap(other, e2e.concertTitle);
    expect(await seatState(other, 11)).toBe('taken');
    expect(await seatState(other, 12)).toBe('taken');
    expect(await other.locator('button[data-seat="11"]').isDisabled()).toBe(true);
    expect(await seatState(other, 13)).toBe('free');

    // Paying without money: a sentence, not JSON.
    await page.getByRole('button', { name: /^Pay 2 seats/ }).click();
    await page.getByText('Your balance is too low for this payment').waitFor();
    expect(await page.getByTestId('error').innerText()).not.toContain('{');

    await page.getByLabel('Amount to charge (won)').fill('120000');
    await page.getByRole('button', { name: 'Charge', exact: true }).click();
    await page.getByText('Balance: 120,000 won').waitFor();
    await screenshot(page, '3-seat-map-and-holds');
    await page.getByRole('button', { name: 'Pay 2 seats (100,000 won)' }).click();
    await page.getByText('Paid 100,000 won').waitFor();

    const tickets = page.getByTestId('ticket');
    await tickets.nth(1).waitFor();
    expect((await tickets.allInnerTexts()).sort()).toEqual([
      `${e2e.concertTitle} · ${DATE} · seat 11`,
      `${e2e.concertTitle} · ${DATE} · seat 12`,
    ]);
    await page.locator('[data-status="COMPLETED"]').waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, '4-tickets');
    await seatBecomes(other, 11, 'taken');
    await seatBecomes(other, 12, 'taken');
  });

  it('when two buyers hold the same seat at once, then one holds it and the other is told and sees it taken', async () => {
    const [a, b] = [await e2e.newPage(), await e2e.newPage('ko-KR')];
    await Promise.all([signIn(a, e2e.url), signInKo(b)]);
    await Promise.all([a, b].map((p) => p.locator('[data-status="ACTIVE"]').waitFor({ timeout: 20_000 })));
    await openSeatMap(a, e2e.concertTitle);
    await b.getByRole('button', { name: e2e.concertTitle }).click();
    await b.locator('button[data-date]').first().click();
    await b.locator('button[data-seat="50"]').waitFor();

    await a.locator('button[data-seat="30"]').click();
    await b.locator('button[data-seat="30"]').click();
    await Promise.all([
      a.getByRole('button', { name: 'Hold 1 selected seats' }).click(),
      b.getByRole('button', { name: '선택한 좌석 1개 선점' }).click(),
    ]);

    const held = async (p: Page) => (await p.locator('[data-testid="hold"][data-seat="30"]').count()) === 1;
    const loser = await waitForLoser(a, b);
    const winner = loser === a ? b : a;
    await winner.locator('[data-testid="hold"][data-seat="30"]').waitFor({ timeout: 20_000 });
    expect(await held(winner)).toBe(true);
    expect(await held(loser)).toBe(false);
    const message = await loser.getByTestId('error').innerText();
    expect(message).toMatch(
      loser === a ? /that seat was just taken by someone else/ : /방금 다른 분이 선점한 좌석입니다/,
    );
    expect(await seatState(winner, 30)).toBe('mine');
    await seatBecomes(loser, 30, 'taken');
  });

  async function signInKo(page: Page): Promise<void> {
    await page.goto(`${e2e.url}/`);
    await page.getByRole('button', { name: '로그인', exact: true }).click();
    await page.getByTestId('status').waitFor();
  }

  /** The page that shows an error (the other one holds the seat). */
  const waitForLoser = (a: Page, b: Page): Promise<Page> =>
    Promise.race(
      [a, b].map((p) =>
        p
          .locator('[data-testid="error"] span')
          .waitFor({ timeout: 20_000 })
          .then(() => p),
      ),
    );
});
