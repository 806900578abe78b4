/**
 * Mock of the HTTP API: serves the `examples` of docs/openapi.yaml with Stoplight Prism, so client and
 * front-end work can start before the service runs. Prism validates requests against the document
 * (bodies, path parameters, the bearer token's presence, X-Admin-Key) and answers with the first
 * success example; a client picks another with `Prefer: code=201` or `Prefer: example=<name>`.
 *
 * Usage: `npm run mock` (MOCK_PORT, default 4010; MOCK_HOST, default 127.0.0.1). Arguments after `--`
 * go to `prism mock` unchanged, e.g. `npm run mock -- --dynamic`.
 *
 * It spawns Prism's CLI rather than importing its internals: the CLI is Prism's documented interface,
 * and it runs offline from the local file.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const spec = path.join(root, 'docs', 'openapi.yaml');

function mockPort(value: string | undefined): number {
  if (value === undefined || value === '') return 4010;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`Invalid configuration: MOCK_PORT: expected a port number 1-65535, got "${value}"`);
  }
  return port;
}

/** Path of the `prism` executable script shipped in @stoplight/prism-cli. */
function prismBin(): string {
  const manifestPath = require.resolve('@stoplight/prism-cli/package.json', { paths: [root] });
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin['prism'];
  if (!bin) throw new Error('@stoplight/prism-cli has no "prism" executable');
  return path.join(path.dirname(manifestPath), bin);
}

function main(): void {
  const port = mockPort(process.env.MOCK_PORT);
  const host = process.env.MOCK_HOST || '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const args = [prismBin(), 'mock', spec, '--port', String(port), '--host', host, ...process.argv.slice(2)];

  process.stdout.write(`[mock] serving ${path.relative(root, spec)} at ${url}\n`);
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });

  let ready = false;
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    if (!ready && chunk.toString('utf8').includes('Prism is listening')) {
      ready = true;
      process.stdout.write(`[mock] ready: ${url} (try: curl ${url}/healthz)\n`);
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on('error', (err) => {
    process.stderr.write(`[mock] could not start Prism: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (!ready && code !== 0 && signal === null) process.stderr.write(`[mock] Prism exited with code ${code}\n`);
    process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
  });
}

main();
