/// <reference lib="dom" />
// Callbacks of page.evaluate run in the browser.
import type { Page } from 'playwright-core';
import { axeViolations, screenshot, signIn, useE2eStack } from './stack';

const e2e = useE2eStack();

const positionOf = async (page: Page): Promise<number> =>
  Number(/(\d+)/.exec(await page.getByTestId('position').innerText())![1]);

/** Records every position the buyer page shows from now on (a MutationObserver in the page). */
async function recordPositions(page: Page): Promise<() => Promise<number[]>> {
  await page.evaluate(() => {
    const seen: number[] = [];
    (window as unknown as { __positions: number[] }).__positions = seen;
    const note = (): void => {
      const m = /(\d+)/.exec(document.querySelector('[data-testid="position"]')?.textContent ?? '');
      if (m && Number(m[1]) !== seen[seen.length - 1]) seen.push(Number(m[1]));
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { __positions: number[] }).__positions);
}

async function openAdmin(e: typeof e2e): Promise<Page> {
  const admin = await e.newPage();
  await admin.goto(`${e.url}/admin`);
  await admin.getByLabel('Admin key').fill(e.config.adminApiKey);
  await admin.getByLabel('Admin key').press('Enter');
  await admin
    .getByTestId('paused')
    .filter({ hasText: /^The line is/ })
    .waitFor();
  return admin;
}

describe('the waiting room and the operator page in Chromium', () => {
  afterEach(async () => {
    await e2e.admin('PATCH', '/v1/admin/queue', { paused: false, admitPerSecond: 10 });
  });

  it('when others ahead are admitted, then the waiting buyer sees the position go down until it is their turn', async () => {
    await e2e.admin('PATCH', '/v1/admin/queue', { paused: true });
    const ahead = [await e2e.enterLine(), await e2e.enterLine(), await e2e.enterLine()];
    expect(ahead.map((u) => u.position)).toEqual([1, 2, 3]);

    const page = await e2e.newPage();
    await signIn(page, e2e.url);
    await page.getByTestId('position').filter({ hasText: 'Your place in line: 4' }).waitFor();
    expect(await page.getByTestId('estimate').innerText()).toBe(
      'Waiting, no estimate right now (the line may be paused)',
    );
    expect(await page.locator('#queue-progress').getAttribute('max')).toBe('4');
    expect(await page.getByTestId('connection').innerText()).toBe('Live updates');
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, '2-waiting-room');

    const positions = await recordPositions(page);
    await e2e.admin('PATCH', '/v1/admin/queue', { paused: false, admitPerSecond: 1 });
    await page.locator('[data-status="ACTIVE"]').waitFor({ timeout: 30_000 });

    const seen = await positions();
    expect(seen[0]).toBe(4);
    // Strictly down, one admission (1/s) after another: at least three places shown.
    expect(seen).toEqual([...seen].sort((x, y) => y - x));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(3);
  });

  it('when the operator pauses the line on the admin page, then the waiting buyer sees no estimate, and resuming moves the line again', async () => {
    await e2e.admin('PATCH', '/v1/admin/queue', { paused: false, admitPerSecond: 1 });
    for (let i = 0; i < 8; i++) await e2e.enterLine();
    const buyer = await e2e.newPage();
    await signIn(buyer, e2e.url);
    await buyer
      .getByTestId('estimate')
      .filter({ hasText: /^Estimated wait: \d+/ })
      .waitFor({ timeout: 20_000 });
    const before = await positionOf(buyer);
    expect(before).toBeGreaterThan(1);

    const admin = await openAdmin(e2e);
    expect(await admin.getByTestId('paused').innerText()).toBe('The line is moving');
    expect(Number(await admin.getByTestId('waiting').innerText())).toBeGreaterThanOrEqual(1);
    expect(await admin.locator('.chart polyline').count()).toBe(3);
    expect(await axeViolations(admin)).toEqual([]);
    await screenshot(admin, '5-operator');

    await admin.getByRole('button', { name: 'Pause the line' }).click();
    await admin.getByTestId('paused').filter({ hasText: 'The line is paused' }).waitFor();
    expect((await e2e.admin<{ paused: boolean }>('GET', '/v1/admin/queue')).paused).toBe(true);

    // The stream repeats the entry at least every 15 s, so the pause shows by then.
    await buyer
      .getByTestId('estimate')
      .filter({ hasText: 'Waiting, no estimate right now (the line may be paused)' })
      .waitFor({ timeout: 16_000 });
    const paused = await positionOf(buyer);
    expect(await buyer.locator('[data-status="WAITING"]').count()).toBe(1);
    await screenshot(buyer, '2b-waiting-paused');

    await admin.getByRole('button', { name: 'Resume the line' }).click();
    await admin.getByTestId('paused').filter({ hasText: 'The line is moving' }).waitFor();
    await buyer.waitForFunction(
      (p) => {
        const m = /(\d+)/.exec(document.querySelector('[data-testid="position"]')?.textContent ?? '');
        return (m !== null && Number(m[1]) < p) || document.querySelector('[data-status="ACTIVE"]') !== null;
      },
      paused,
      { timeout: 15_000 },
    );
  });

  it('when the operator looks a waiting user up, then the page shows the entry and links to that user in the Temporal UI', async () => {
    await e2e.admin('PATCH', '/v1/admin/queue', { paused: true });
    const user = await e2e.enterLine();
    const admin = await openAdmin(e2e);
    await admin.getByLabel('User id').fill(user.userId);
    await admin.getByRole('button', { name: 'Find' }).click();
    const result = admin.getByTestId('lookup-result');
    await result.waitFor();
    expect(await result.innerText()).toContain('WAITING');
    const href = await admin.getByRole('link', { name: /Temporal Web UI/ }).getAttribute('href');
    expect(href).toBe(
      `http://localhost:8233/namespaces/${e2e.config.temporalNamespace}/workflows?query=${encodeURIComponent(`UserId="${user.userId}"`)}`,
    );

    // Once admitted the entry has its workflow, and the lookup names it.
    await e2e.admin('PATCH', '/v1/admin/queue', { paused: false });
    let shown = '';
    for (const deadline = Date.now() + 15_000; !shown.includes('queue-entry:') && Date.now() < deadline; ) {
      await admin.getByRole('button', { name: 'Find' }).click();
      // The lookup answers from the entry; admission starts the workflow within a tick or two.
      await admin.waitForTimeout(500);
      shown = await admin.getByTestId('lookup-result').innerText();
    }
    expect(shown).toContain('ACTIVE');
    expect(shown).toContain(`queue-entry:${user.userId}`);
    await admin.getByLabel('User id').fill('00000000-0000-4000-8000-000000000000');
    await admin.getByRole('button', { name: 'Find' }).click();
    await admin.getByText('This user is not in the line right now.').waitFor();
  });
});
