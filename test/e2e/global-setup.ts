import { buildWeb } from '../../scripts/build-web';
import { ensureChromium } from './chromium';

/** Once per jest run that includes the e2e tier: the pages are built (when stale) and Chromium is there. */
export default async function e2eGlobalSetup(): Promise<void> {
  ensureChromium();
  await buildWeb();
}
