/**
 * `npm run screens`: regenerates docs/screens/*.png, the screenshots the README shows. They are
 * taken by the e2e tests themselves (when UPDATE_SCREENS is set) at the moments they check, so a
 * screenshot always shows a page state a test has just asserted.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const r = spawnSync('npx', ['jest', '--selectProjects', 'e2e', '--runInBand', ...process.argv.slice(2)], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, UPDATE_SCREENS: '1' },
});
const screens = readdirSync(path.join(ROOT, 'docs/screens')).filter((f) => f.endsWith('.png'));
console.log(`[screens] docs/screens: ${screens.join(', ')}`);
process.exit(r.status ?? 1);
