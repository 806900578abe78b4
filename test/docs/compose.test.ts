import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';

/**
 * No container engine runs here, so the compose files are checked statically: against the
 * Compose specification's JSON schema (test/fixtures/compose-spec.json) and against the code
 * (variables src/config.ts reads, ports, healthcheck commands, pinned images).
 */
const ROOT = path.resolve(__dirname, '../..');
const FILES = ['docker-compose.yml', 'docker-compose.cluster.yml'] as const;
const APP_IMAGE = 'concert-reservation:local';

interface Healthcheck {
  test?: string[] | string;
}
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  ports?: string[];
  healthcheck?: Healthcheck;
  restart?: string;
  volumes?: string[];
  deploy?: { replicas?: number };
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
// `merge: true` resolves the `<<:` keys the files use, as Compose does.
const load = (file: string): ComposeFile => parse(read(file), { merge: true }) as ComposeFile;
const envOf = (s: Service): Record<string, string> =>
  Array.isArray(s.environment)
    ? Object.fromEntries(s.environment.map((e) => e.split('=', 2) as [string, string]))
    : (s.environment ?? {});
const isApp = (s: Service): boolean => s.image === APP_IMAGE;

/** Every variable src/config.ts reads (the names in its table of variables). */
const CONFIG_VARIABLES = new Set(
  [...read('src/config.ts').matchAll(/\[\s*'([A-Z][A-Z0-9_]+)',/g)].map((m) => m[1] as string),
);
/** Read by Node and its libraries rather than by src/config.ts. */
const RUNTIME_VARIABLES = new Set(['NODE_ENV']);

/**
 * Commands known to be in each image (the first word of a healthcheck). Sources: the images'
 * own Dockerfiles and docs; busybox provides sh/wget/nc/hostname in the Alpine-based ones.
 */
const IMAGE_COMMANDS: Record<string, string[]> = {
  mysql: ['mysqladmin', 'mysql', 'sh'],
  redis: ['redis-cli', 'redis-server', 'sh'],
  postgres: ['pg_isready', 'psql', 'sh'],
  nginx: ['nginx', 'wget', 'sh'],
  'temporalio/temporal': ['temporal'],
  'temporalio/server': ['temporal', 'temporal-server', 'sh', 'nc', 'hostname'],
  'temporalio/ui': ['wget', 'sh'],
  'temporalio/admin-tools': ['temporal', 'temporal-sql-tool', 'sh'],
  // The app image: the Dockerfile's base image is node (bookworm-slim).
  [APP_IMAGE]: ['node', 'sh'],
};
const repoOf = (image: string): string => (image === APP_IMAGE ? image : image.replace(/:.*$/, ''));

const hostPort = (raw: string): { host: string; port: number } => {
  const value = raw.replace(/\$\{[^}]*\}/g, 'x'); // a ${VAR:?…} in the credentials
  const u = value.includes('://') ? new URL(value) : new URL(`tcp://${value}`);
  return { host: u.hostname, port: Number(u.port) };
};

describe.each(FILES)('%s', (file) => {
  const compose = load(file);
  const services = Object.entries(compose.services);
  const apps = services.filter(([, s]) => isApp(s));

  it('when validated against the Compose specification schema, then it has no errors', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec.json')) as Record<string, unknown>;
    delete schema.$schema; // draft-07, Ajv's default
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('when an app service sets a variable, then src/config.ts reads it', () => {
    expect(apps.length).toBeGreaterThanOrEqual(3);
    const unknown = apps.flatMap(([name, s]) =>
      Object.keys(envOf(s))
        .filter((v) => !CONFIG_VARIABLES.has(v) && !RUNTIME_VARIABLES.has(v))
        .map((v) => `${name}: ${v}`),
    );
    expect(unknown).toEqual([]);
    expect(CONFIG_VARIABLES.size).toBeGreaterThanOrEqual(15);
  });

  it('when the app image is used, then it is built once and every api and worker reuses it', () => {
    expect(services.filter(([, s]) => s.build !== undefined).map(([name]) => name)).toEqual(['migrate']);
    expect(apps.map(([name]) => name).sort()).toEqual(['api', 'migrate', 'worker']);
    expect(existsSync(path.join(ROOT, '.dockerignore'))).toBe(true);
    expect(read('.dockerignore')).toMatch(/^node_modules$/m);
  });

  it('when a secret is passed, then it must be set (${VAR:?…}), never a silent default', () => {
    const text = read(file);
    for (const secret of [
      'TOKEN_SECRET',
      'ADMIN_API_KEY',
      'MYSQL_PASSWORD',
      'MYSQL_ROOT_PASSWORD',
      'POSTGRES_PASSWORD',
    ]) {
      const uses = [...text.matchAll(new RegExp(`\\$\\{${secret}([^}]*)\\}`, 'g'))].map((m) => m[1] ?? '');
      for (const use of uses) expect(use).toMatch(/^:\?/);
    }
    for (const [, s] of apps) {
      for (const [name, value] of Object.entries(envOf(s))) {
        if (/SECRET|KEY|PASSWORD/.test(name)) expect(value).toMatch(/\$\{[A-Z_]+:\?/);
      }
    }
  });

  it('when an image is pulled, then its tag is pinned to a full version', () => {
    const loose = services
      .filter(([, s]) => s.image && !isApp(s))
      .map(([name, s]) => [name, s.image as string])
      // PostgreSQL numbers its releases major.minor (15.13 is a patch release); the others major.minor.patch.
      .filter(([, image]) => !/^([a-z0-9./-]+:\d+\.\d+\.\d+|postgres:\d+\.\d+)(-[a-z0-9.-]+)?$/.test(image as string));
    expect(loose).toEqual([]);
  });

  it('when a service has a healthcheck, then its command exists in that image or the repository', () => {
    const checked = services.filter(([, s]) => s.healthcheck);
    expect(checked.length).toBeGreaterThanOrEqual(5);
    for (const [name, s] of checked) {
      const test = s.healthcheck?.test ?? [];
      const [kind, ...rest] = Array.isArray(test) ? test : ['CMD-SHELL', test];
      // CMD-SHELL: the first word that is not a VAR=value assignment.
      const words = kind === 'CMD-SHELL' ? (rest.join(' ').match(/[^\s]+/g) ?? []) : rest;
      const command = words.find((w) => !/^[A-Z_]+=/.test(w)) ?? '';
      const known = IMAGE_COMMANDS[repoOf(s.image ?? '')] ?? [];
      expect([name, known.includes(command) || existsSync(path.join(ROOT, command))]).toEqual([name, true]);
    }
  });

  it('when a long-running service is defined, then it has a restart policy, and one-shot jobs do not restart', () => {
    for (const [name, s] of services) {
      const oneShot = ['migrate', 'temporal-schema', 'temporal-namespace', 'redis-cluster-init'].includes(name);
      expect([name, s.restart]).toEqual([name, oneShot ? 'no' : 'unless-stopped']);
      // Every long-running service but the worker (no port to probe) has a healthcheck.
      if (!oneShot && name !== 'worker' && name !== 'temporal-worker')
        expect([name, !!s.healthcheck]).toEqual([name, true]);
    }
  });

  it('when services address each other, then host names are services and ports match what they listen on', () => {
    const names = new Set(Object.keys(compose.services));
    const api = compose.services.api!;
    const env = envOf(api);
    const apiPort = Number(env.PORT);
    expect(apiPort).toBe(3000);
    expect(JSON.stringify(api.healthcheck?.test)).toContain(`127.0.0.1:${apiPort}/readyz`);

    const db = hostPort(env.DATABASE_URL ?? '');
    expect([names.has(db.host), db.port]).toEqual([true, 3306]);
    const redisTargets = [env.REDIS_URL, ...(env.REDIS_CLUSTER_NODES?.split(',') ?? [])].filter(Boolean) as string[];
    for (const target of redisTargets) {
      const { host, port } = hostPort(target);
      expect([target, names.has(host), port]).toEqual([target, true, 6379]);
    }
    const temporal = hostPort(env.TEMPORAL_ADDRESS ?? '');
    expect([names.has(temporal.host), temporal.port]).toEqual([true, 7233]);
    const frontend = compose.services[temporal.host]!;
    // The dev server serves the frontend on 7233; a server image must run the frontend service.
    if (frontend.image?.startsWith('temporalio/server')) expect(envOf(frontend).SERVICES).toBe('frontend');

    // nginx: listens where the gateway publishes, proxies to the api's port.
    const nginx = read('docker/nginx.conf');
    const gateway = compose.services.gateway!;
    const listen = Number(/listen (\d+);/.exec(nginx)?.[1]);
    expect(gateway.ports?.map((p) => Number(p.split(':').pop()))).toEqual([listen]);
    expect(nginx).toContain(`server api:${apiPort} resolve;`);
    expect(JSON.stringify(gateway.healthcheck?.test)).toContain(`127.0.0.1:${listen}/`);
  });

  it('when the data services run, then Redis keeps an append-only file and every stateful service has a volume', () => {
    for (const [name, s] of services.filter(
      ([name, s]) => s.image?.startsWith('redis:') && name !== 'redis-cluster-init',
    )) {
      const command = (s.command as string[]).join(' ');
      expect([name, command]).toEqual([name, expect.stringContaining('--appendonly yes')]);
      expect([name, s.volumes?.some((v) => v.endsWith(':/data'))]).toEqual([name, true]);
    }
    for (const [name, s] of services.filter(([, s]) => /^(mysql|postgres|temporalio\/temporal):/.test(s.image ?? ''))) {
      expect([
        name,
        (s.volumes ?? []).some((v) => Object.keys(compose.volumes ?? {}).includes(v.split(':')[0] ?? '')),
      ]).toEqual([name, true]);
    }
  });
});

describe('docker/nginx.conf', () => {
  const conf = read('docker/nginx.conf');

  it('when a client sends X-Request-Id, then nginx passes it through instead of replacing it', () => {
    expect(conf).not.toMatch(/proxy_set_header X-Request-Id \$request_id;/);
    expect(conf).toMatch(/map \$http_x_request_id \$(\w+) \{[^}]*default \$http_x_request_id;/);
  });

  it('when api replicas change, then the upstream is re-resolved (shared zone, resolve, Docker DNS resolver)', () => {
    expect(conf).toMatch(/resolver 127\.0\.0\.11/);
    expect(conf).toMatch(/upstream api \{[^}]*zone api [^}]*server api:\d+ resolve;[^}]*keepalive \d+;/);
  });

  it('when the event stream is proxied, then nginx does not buffer it and forwards the client address', () => {
    expect(conf).toMatch(/location ~ \^\/v1\/queue\/tokens\/current\/events\$ \{[^}]*proxy_buffering off;/);
    expect(conf).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
  });
});

describe('the Temporal compose setup', () => {
  it('when the cluster file registers search attributes, then they are exactly the ones the workflows use', async () => {
    const { searchAttributeFlags } = await import('../../src/shared/search-attributes');
    const script = read('docker/temporal-setup.sh');
    const listed = /for pair in (UserId=[^;]+);/.exec(script)?.[1]?.trim().split(/\s+/);
    expect(listed).toEqual([...searchAttributeFlags]);
    const devServer = (load('docker-compose.yml').services.temporal?.command as string[])
      .filter((a) => a.startsWith('--search-attribute='))
      .map((a) => a.slice('--search-attribute='.length));
    expect(devServer).toEqual([...searchAttributeFlags]);
  });

  it('when the cluster runs the Temporal server image, then history is sharded and every service gets the dynamic config the app needs', () => {
    const compose = load('docker-compose.cluster.yml');
    const servers = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('temporalio/server:'));
    expect(servers.map(([, s]) => envOf(s).SERVICES).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    for (const [, s] of servers) expect(Number(envOf(s).NUM_HISTORY_SHARDS)).toBeGreaterThan(1);
    const dynamic = read('docker/temporal-dynamicconfig.yaml');
    for (const key of [
      'frontend.enableUpdateWorkflowExecution',
      'frontend.enableExecuteMultiOperation',
      'frontend.enableUpdateWorkflowExecutionAsyncAccepted',
    ])
      expect(dynamic).toMatch(new RegExp(`^${key.replace(/\./g, '\\.')}:\\n {2}- value: true$`, 'm'));
  });
});
