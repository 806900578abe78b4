import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/** Debian's Chromium; playwright-core drives it (its own browser download is not used). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Installs Debian's `chromium` package when the executable is missing (root on Debian only),
 * like scripts/provision.ts does for MariaDB and Redis. Does nothing when it is there.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`${CHROMIUM} is missing and this is not a Debian machine with root: apt-get install chromium`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  process.stderr.write('[provision] apt-get install chromium…\n');
  for (const args of [
    ['update', '-q'],
    ['install', '-y', '-q', '--no-install-recommends', 'chromium'],
  ]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  }
  return CHROMIUM;
}

/** A headless Chromium with a fresh profile, no network of its own, no first-run work. */
export async function launchChromium(): Promise<Browser> {
  // playwright-core gives every launch a fresh temporary profile (it refuses --user-data-dir in
  // args); the crash dumps and caches of this one go to a temporary directory removed on close.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'concert-e2e-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: scratch, XDG_CONFIG_HOME: scratch, XDG_CACHE_HOME: scratch },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  browser.once('disconnected', () => rmSync(scratch, { recursive: true, force: true }));
  return browser;
}
