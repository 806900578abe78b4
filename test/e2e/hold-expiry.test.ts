/// <reference lib="dom" />
// Callbacks of page.evaluate run in the browser.
import { countdownSeconds, openSeatMap, seatState, signIn, useE2eStack } from './stack';

// Holds lapse after 3 s, so the page's countdown and release are seen within the test.
const e2e = useE2eStack({ seatHoldSeconds: 3 });

describe('a hold lapsing on the buyer page', () => {
  it('when a hold is not paid in time, then its countdown runs down, it shows expired and the seat is free again', async () => {
    const page = await e2e.newPage();
    await signIn(page, e2e.url);
    await page.locator('[data-status="ACTIVE"]').waitFor({ timeout: 20_000 });
    await openSeatMap(page, e2e.concertTitle);

    await page.locator('button[data-seat="5"]').click();
    await page.getByRole('button', { name: 'Hold 1 selected seats' }).click();
    const countdown = page.getByTestId('countdown');
    await countdown.waitFor();
    expect(await seatState(page, 5)).toBe('mine');

    // The countdown shows the time left and goes down second by second.
    const first = countdownSeconds(await countdown.innerText());
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(3);
    await page.waitForFunction(
      (start) => {
        const text = document.querySelector('[data-testid="countdown"]')?.textContent ?? '';
        const m = /(\d+) s left/.exec(text);
        return m !== null && Number(m[1]) < start;
      },
      first,
      { timeout: 3_000 },
    );

    const expired = page.locator('[data-testid="hold"][data-seat="5"][data-state="expired"]');
    await expired.waitFor({ timeout: 6_000 });
    expect(await expired.innerText()).toBe('Seat 5: the hold has expired and the seat is free again.');
    expect(await page.getByTestId('countdown').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Pay / }).count()).toBe(0);

    // The released seat is back on the map (the release runs within a second of heldUntil).
    await page.locator('button[data-seat="5"][data-state="free"]').waitFor({ timeout: 8_000 });
    expect(await page.locator('button[data-seat="5"]').isEnabled()).toBe(true);
  });
});
