/**
 * `npm run build:web`: bundles the buyer (`/`) and operator (`/admin`) pages from `web/` into
 * `web/dist/` with esbuild. Assets get content-hashed names (served as immutable); the two HTML
 * files name them. Skips the build when dist is newer than every source, so `npm start` and the
 * e2e tier can call it every time.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const WEB = path.resolve(__dirname, '..', 'web');
export const WEB_DIST = path.join(WEB, 'dist');
const STAMP = path.join(WEB_DIST, '.built');

/** Newest modification time of the page sources (and the lock file, which pins Preact and esbuild). */
function newestSource(dir = WEB): number {
  let newest = statSync(path.resolve(WEB, '..', 'package-lock.json')).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (full === WEB_DIST) continue;
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  try {
    return statSync(STAMP).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

export interface WebBuild {
  built: boolean;
  /** Bytes of what the buyer page loads (HTML, script, style): raw and gzipped. */
  buyerBytes: number;
  buyerGzipBytes: number;
}

/** Files the buyer page loads, read from the built index.html. */
export function buyerFiles(): string[] {
  const html = readFileSync(path.join(WEB_DIST, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => path.join(WEB_DIST, 'assets', m[1]!));
  return [path.join(WEB_DIST, 'index.html'), ...refs];
}

function measure(): Pick<WebBuild, 'buyerBytes' | 'buyerGzipBytes'> {
  let raw = 0;
  let gz = 0;
  for (const file of buyerFiles()) {
    const body = readFileSync(file);
    raw += body.length;
    gz += gzipSync(body, { level: 9 }).length;
  }
  return { buyerBytes: raw, buyerGzipBytes: gz };
}

/** Builds web/dist unless it is newer than its sources (or `force`). */
export async function buildWeb({ force = false } = {}): Promise<WebBuild> {
  if (!force && upToDate()) return { built: false, ...measure() };
  rmSync(WEB_DIST, { recursive: true, force: true });
  mkdirSync(WEB_DIST, { recursive: true });
  const result = await build({
    entryPoints: {
      buyer: path.join(WEB, 'src/buyer.tsx'),
      admin: path.join(WEB, 'src/admin.tsx'),
      style: path.join(WEB, 'src/style.css'),
    },
    outdir: path.join(WEB_DIST, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(WEB, 'tsconfig.json'),
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs);
  const asset = (entry: string): string => {
    const found = outputs.find(([, o]) => o.entryPoint !== undefined && path.basename(o.entryPoint).startsWith(entry));
    if (!found) throw new Error(`esbuild produced no output for ${entry}`);
    return `/assets/${path.basename(found[0])}`;
  };
  const style = asset('style.css');
  // One shell for both pages (web/page.html); the operator page also carries the Temporal Web UI
  // placeholders that src/api/web.ts fills in when it serves the page.
  const template = readFileSync(path.join(WEB, 'page.html'), 'utf8');
  const pages = [
    { file: 'index.html', title: 'Concert tickets', head: '', script: asset('buyer.tsx') },
    {
      file: 'admin.html',
      title: 'Waiting line: operator',
      head: [
        '<meta name="temporal-ui" content="%TEMPORAL_UI_URL%" />',
        '<meta name="temporal-namespace" content="%TEMPORAL_NAMESPACE%" />',
      ].join('\n    '),
      script: asset('admin.tsx'),
    },
  ];
  for (const page of pages) {
    const html = template
      .replace('%HEAD%', page.head)
      .replace('%TITLE%', page.title)
      .replace('%STYLE%', style)
      .replace('%SCRIPT%', page.script);
    writeFileSync(path.join(WEB_DIST, page.file), html.replace(/\n\s*\n/g, '\n'));
  }
  writeFileSync(STAMP, new Date().toISOString());
  return { built: true, ...measure() };
}

if (require.main === module) {
  buildWeb({ force: process.argv.includes('--force') })
    .then((r) => {
      const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
      console.log(
        `[build:web] ${r.built ? 'built' : 'up to date'}: web/dist (buyer page ${kb(r.buyerBytes)}, ${kb(r.buyerGzipBytes)} gzipped)`,
      );
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
