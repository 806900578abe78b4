/** Running system commands from the provisioning scripts (provision.ts, the cluster profile). */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

/** Path of `cmd` on PATH, or null. */
export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Runs a command to completion, its output inherited; throws on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): void {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

export interface AptOptions {
  /** Where progress lines go (each caller prefixes its own). */
  say: (msg: string) => void;
  /**
   * Forbid the packages' maintainer scripts to start their services during the install (a
   * temporary /usr/sbin/policy-rc.d answering 101), for callers that start the service themselves.
   */
  noServiceStart?: boolean;
}

let aptUpdated = false;

/** `apt-get install` of Debian packages (root only); `apt-get update` runs once per process first. */
export function aptInstall(packages: string[], { say, noServiceStart = false }: AptOptions): void {
  if (process.getuid?.() !== 0 || !which('apt-get')) {
    throw new Error(`${packages.join(', ')} missing and this is not a Debian machine with root: install them yourself`);
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    say('apt-get update…');
    run('apt-get', ['update', '-q'], { env });
    aptUpdated = true;
  }
  say(`apt-get install ${packages.join(' ')}…`);
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = noServiceStart && !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { env });
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}
