/**
 * Redis Cluster of three masters on this machine: one `redis-server --cluster-enabled yes`
 * per port, each with its own directory, append-only file and nodes.conf, joined once with
 * `redis-cli --cluster create`. On a later start the nodes read their nodes.conf and the
 * cluster re-forms by itself.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { portOpen } from '../provision';
import type { ManagedProcess } from './proc';
import { adoptProcess, aptInstall, capture, readyOrDied, runningPid, say, startProcess, waitUntil } from './proc';

/** The running Redis Cluster nodes, with a way to kill and restart one (drills). */
export interface RedisCluster {
  /** `127.0.0.1:7000` etc., the value of REDIS_CLUSTER_NODES. */
  nodes: string[];
  processes: Map<number, ManagedProcess>;
  /** kill -9 the master on `port` (no replica takes over: its slots stay down until restarted). */
  kill(port: number): Promise<void>;
  /** Starts the node on `port` again and waits until the cluster reports ok. */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

const cli = (port: number, ...args: string[]): { ok: boolean; out: string } =>
  capture('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);

function clusterInfo(port: number): Record<string, string> {
  const r = cli(port, 'cluster', 'info');
  if (!r.ok) return {};
  return Object.fromEntries(
    r.out
      .split(/\r?\n/)
      .filter((l) => l.includes(':'))
      .map((l) => l.split(':', 2) as [string, string]),
  );
}

/** Starts the nodes that are not running, forms the cluster when it was never formed, and waits for `cluster_state:ok`. */
export async function startRedisCluster(dataDir: string, ports: readonly number[]): Promise<RedisCluster> {
  if (!existsSync('/usr/bin/redis-server') || !existsSync('/usr/bin/redis-cli'))
    aptInstall(['redis-server', 'redis-tools']);
  const processes = new Map<number, ManagedProcess>();
  const launch = async (port: number): Promise<ManagedProcess> => {
    const dir = path.join(dataDir, String(port));
    mkdirSync(dir, { recursive: true });
    const proc = startProcess(`redis-${port}`, '/usr/bin/redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '5000',
      // A lost master (no replicas) takes only its own slots down; the other masters keep serving theirs.
      '--cluster-require-full-coverage',
      'no',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
    ]);
    await readyOrDied(
      proc,
      waitUntil(() => portOpen('127.0.0.1', port), 15_000, `redis-server :${port} did not listen`),
    );
    return proc;
  };
  const stopAll = async (): Promise<void> => {
    for (const port of [...ports].reverse()) {
      const proc = processes.get(port);
      if (proc?.owned) {
        say(`stopping Redis node :${port}`);
        await proc.stop();
        // Another run (a drill) may have restarted it meanwhile: its pid file names the replacement.
        const replacement = runningPid(`redis-${port}`);
        if (replacement && replacement !== proc.pid) await adoptProcess(`redis-${port}`, replacement).stop();
      }
    }
  };
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  const first = ports[0] ?? 7000;
  const waitOk = (): Promise<void> =>
    waitUntil(
      () => ports.every((p) => clusterInfo(p).cluster_state === 'ok'),
      60_000,
      `the Redis Cluster did not report cluster_state:ok (see redis-${first}.log)`,
    );
  try {
    for (const port of ports) {
      const pid = runningPid(`redis-${port}`);
      if (pid && (await portOpen('127.0.0.1', port))) {
        say(`Redis node :${port} already running (pid ${pid})`);
        processes.set(port, adoptProcess(`redis-${port}`, pid));
        continue;
      }
      if (await portOpen('127.0.0.1', port))
        throw new Error(`port ${port} for a Redis Cluster node is taken by another program`);
      say(`starting Redis Cluster node on 127.0.0.1:${port}…`);
      processes.set(port, await launch(port));
    }
    // A node listens before it has loaded its append-only file (it answers LOADING until then);
    // asked too early, it looks like a node that never joined a cluster.
    await waitUntil(
      () => ports.every((p) => cli(p, 'ping').out.trim() === 'PONG'),
      120_000,
      `a Redis Cluster node did not finish loading its data (see redis-${first}.log)`,
    );
    const formed = ports.every((p) => Number(clusterInfo(p).cluster_known_nodes ?? 0) === ports.length);
    if (!formed) {
      say(`forming the Redis Cluster (${nodes.join(' ')}, three masters, no replicas)…`);
      const created = capture('redis-cli', [
        '--cluster',
        'create',
        ...nodes,
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      if (!created.ok) throw new Error(`redis-cli --cluster create failed:\n${created.out}`);
    }
    await waitOk();
    // Nodes adopted from an earlier run get the same setting.
    for (const port of ports) cli(port, 'config', 'set', 'cluster-require-full-coverage', 'no');
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    nodes,
    processes,
    async kill(port) {
      await processes.get(port)?.kill9();
    },
    async restart(port) {
      const launched = await launch(port);
      // A restart keeps ownership: a node adopted from another run is left to that run to stop.
      processes.set(
        port,
        processes.get(port)?.owned === false ? adoptProcess(`redis-${port}`, launched.pid) : launched,
      );
      await waitOk();
    },
    stop: stopAll,
  };
}
