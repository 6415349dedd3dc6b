/**
 * What can be checked of the Docker deployment without a Docker engine: the image's entry command
 * runs the compiled app and stops cleanly on SIGTERM, and the compose file and Dockerfile keep
 * the rules the deployment relies on.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import mongoose from 'mongoose';
import { parse } from 'yaml';
import { redisOptionsFromUrl } from '../src/common/redis.js';
import { loadConfig } from '../src/config/config.js';
import { testEnv } from './support/app.js';
import { redisAnswers, removeDeploymentKeys } from '../tools/harness/services.js';
import { ROOT, startProcess } from '../tools/harness/processes.js';
import { freePort } from '../tools/harness/services.js';
import { onPath } from '../tools/harness/system.js';
import { waitFor } from '../tools/harness/wait.js';

const dockerfile = readFileSync(path.join(ROOT, 'docker', 'Dockerfile'), 'utf8');

/** The lines of one build stage. */
function stage(name: string): string[] {
  const lines = dockerfile.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^FROM .* AS ${name}$`).test(l));
  const end = lines.findIndex((l, i) => i > start && l.startsWith('FROM '));
  return lines.slice(start, end === -1 ? undefined : end);
}

/** The JSON-array form of an instruction in a stage, e.g. CMD ["node", "dist/main.js"]. */
function execForm(lines: string[], instruction: string): string[] {
  const line = lines.find((l) => l.startsWith(`${instruction} [`));
  if (!line) throw new Error(`no ${instruction} in exec form`);
  return JSON.parse(line.slice(instruction.length + 1)) as string[];
}

describe('development image', () => {
  it('holds everything `npm run dev` runs: the sources, the dashboard and tools/, none of them ignored', () => {
    const development = stage('development');
    for (const copy of [
      'COPY tsconfig.json tsconfig.build.json ./',
      'COPY src ./src',
      'COPY public ./public',
      'COPY tools ./tools',
    ])
      expect(development).toContain(copy);
    expect(execForm(development, 'CMD')).toEqual(['npm', 'run', 'dev']);
    const scripts = (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    // The runner and what it starts (the offline MongoDB server) live in tools/.
    expect(scripts.dev).toMatch(/ tools\/dev\.ts$/);
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const needed of ['src', 'public', 'tools', 'tsconfig.json', 'tsconfig.build.json'])
      expect(ignored).not.toContain(needed);
  });
});

describe('production image', () => {
  const production = stage('production');

  it('is a multi-stage build whose final stage runs compiled JavaScript as a non-root user', () => {
    expect(dockerfile).toMatch(/FROM .* AS deps/);
    expect(dockerfile).toMatch(/FROM .* AS build/);
    expect(dockerfile).toContain('RUN npm ci --no-audit --no-fund');
    expect(stage('prod-deps').join('\n')).toContain('npm ci --omit=dev');
    expect(production.join('\n')).toContain('COPY --from=build --chown=node:node /app/dist ./dist');
    // The staff dashboard's static files, where dist/ looks for them (../public/dashboard).
    expect(production).toContain('COPY --chown=node:node public ./public');
    expect(production.join('\n')).not.toMatch(/COPY (\.|src|test)/);
    expect(production).toContain('USER node');
    expect(production.join('\n')).toMatch(/ENV NODE_ENV=production/);
    expect(production.some((l) => l.startsWith('HEALTHCHECK'))).toBe(true);
    expect(execForm(production, 'ENTRYPOINT')).toEqual(['/usr/bin/tini', '--']);
  });

  it('keeps tests, results, local data and secrets out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['test', 'load/results', '.data', '.env', 'node_modules', '.git'])
      expect(ignored).toContain(entry);
  });

  it('starts the compiled app with its entry command and exits 0 on SIGTERM within the shutdown timeout', async () => {
    const [command, ...args] = execForm(production, 'CMD');
    expect(command).toBe('node');
    const env = testEnv('image', {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
      JWT_REFRESH_SECRET: randomBytes(32).toString('base64url'),
      BCRYPT_ROUNDS: '10',
      PORT: String(await freePort()),
      SHUTDOWN_TIMEOUT_MS: '10000',
    });
    const app = await startProcess(process.execPath, args, null, {
      env: { PATH: process.env.PATH ?? '', ...env },
      label: 'image entry command',
    });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${env.PORT}/health/ready`)).ok, {
        what: 'the app to be ready',
      });
      // The compiled app finds the dashboard's files beside dist/, as the image lays them out.
      const dashboard = await fetch(`http://127.0.0.1:${env.PORT}/dashboard/`);
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toContain('<title>Orders, live</title>');
      const started = Date.now();
      expect(await app.stop('SIGTERM', 15_000)).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await app.stop('SIGKILL');
      const connection = await mongoose.createConnection(env.MONGODB_URI).asPromise();
      await connection.dropDatabase();
      await connection.close();
      await removeDeploymentKeys(env.REDIS_URL, env.QUEUE_PREFIX);
    }
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  ports?: string[];
  healthcheck?: { test?: string[] };
  environment?: Record<string, string>;
  env_file?: unknown;
  depends_on?: Record<string, { condition: string }>;
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  deploy?: { replicas?: number };
}

interface ComposeFile {
  services: Record<string, ComposeService>;
}

function readCompose(file: string): { text: string; compose: ComposeFile } {
  const text = readFileSync(path.join(ROOT, 'docker', file), 'utf8');
  return { text, compose: parse(text, { merge: true }) as ComposeFile };
}

/**
 * Compose's interpolation of the env file's variables into every string of the file: `$$` is a
 * literal `$`; `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}` (refuses to
 * start when NAME is unset or empty) and `${NAME?message}` (when unset), as `docker compose` does.
 */
function interpolate<T>(value: T, env: Record<string, string | undefined>): T {
  if (typeof value === 'string')
    return value.replace(
      /\$\$|\$\{([A-Za-z_]\w*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_]\w*)/g,
      (
        match,
        braced?: string,
        colon?: string,
        operator?: string,
        argument?: string,
        bare?: string,
      ) => {
        if (match === '$$') return '$';
        const name = (braced ?? bare) as string;
        const given = env[name];
        const missing = colon ? !given : given === undefined;
        if (operator === '-' && missing) return argument ?? '';
        if (operator === '?' && missing)
          throw new Error(`required variable ${name} is missing a value: ${argument ?? ''}`);
        return given ?? '';
      },
    ) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => interpolate(item, env)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item as unknown, env)]),
    ) as T;
  return value;
}

/** The data stores' credentials, which the env file must provide (.env.example lists them). */
const CREDENTIALS = [
  'MONGO_ROOT_USERNAME',
  'MONGO_ROOT_PASSWORD',
  'MONGO_APP_USERNAME',
  'MONGO_APP_PASSWORD',
  'REDIS_PASSWORD',
];

/** An env file for the compose file, with freshly generated credentials. */
function envFile(): Record<string, string> {
  const hex = () => randomBytes(32).toString('hex');
  return {
    MONGO_ROOT_USERNAME: 'orders-root',
    MONGO_ROOT_PASSWORD: hex(),
    MONGO_APP_USERNAME: 'orders-app',
    MONGO_APP_PASSWORD: hex(),
    REDIS_PASSWORD: hex(),
  };
}

function writeExecutable(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

describe('docker-compose.yml', () => {
  const { text, compose } = readCompose('docker-compose.yml');
  const services = Object.entries(compose.services);

  it('gives every service a healthcheck', () => {
    for (const [name, service] of services)
      expect({ name, healthcheck: Boolean(service.healthcheck?.test) }).toEqual({
        name,
        healthcheck: true,
      });
  });

  it('publishes only Nginx (tools listen on the host loopback only)', () => {
    for (const [name, service] of services) {
      if (name === 'nginx') expect(service.ports).toEqual(['80:80']);
      else if (service.profiles?.includes('tools'))
        for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
      else expect({ name, ports: service.ports }).toEqual({ name, ports: undefined });
    }
  });

  it('contains no secret: secrets come from the env file', () => {
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        // A reference to the env file, or blanked for this service.
        if (/SECRET|PASSWORD|TOKEN|PRIVATE/i.test(key))
          expect({ name, key, value }).toEqual({
            name,
            key,
            value: expect.stringMatching(/^(\$\{.*|)$/),
          });
      }
    }
    expect(compose.services.api.env_file).toBeDefined();
    expect(compose.services.worker.env_file).toBeDefined();
  });

  it('publishes no port of MongoDB or Redis', () => {
    for (const name of ['mongo', 'redis']) {
      expect({ name, ports: compose.services[name].ports }).toEqual({ name, ports: undefined });
      expect(text).not.toMatch(new RegExp(`^\\s*-\\s*['"]?[\\d.:]*(27017|6379)['"]?\\s*$`, 'm'));
    }
  });

  it('takes every credential of the data stores from the env file, with no default: compose refuses to start without one', () => {
    const references = [...text.matchAll(/\$\{([A-Za-z_]\w*)([^}]*)\}/g)];
    for (const name of CREDENTIALS)
      expect({ name, referenced: references.some(([, n]) => n === name) }).toEqual({
        name,
        referenced: true,
      });
    for (const [reference, name, rest] of references)
      if (/PASSWORD|USERNAME|SECRET|TOKEN/.test(name))
        expect({ reference, required: rest.startsWith(':?') }).toEqual({
          reference,
          required: true,
        });
    const env = envFile();
    expect(() => interpolate(compose, env)).not.toThrow();
    for (const name of CREDENTIALS) {
      expect(() => interpolate(compose, { ...env, [name]: undefined })).toThrow(name);
      expect(() => interpolate(compose, { ...env, [name]: '' })).toThrow(name);
    }
  });

  it('runs MongoDB with authentication: a root user, and an app user limited to the orders database', () => {
    const env = envFile();
    const { mongo, api, worker } = interpolate(compose, env).services;
    expect(mongo.environment).toMatchObject({
      MONGO_INITDB_ROOT_USERNAME: env.MONGO_ROOT_USERNAME,
      MONGO_INITDB_ROOT_PASSWORD: env.MONGO_ROOT_PASSWORD,
      MONGO_APP_USERNAME: env.MONGO_APP_USERNAME,
      MONGO_APP_PASSWORD: env.MONGO_APP_PASSWORD,
    });
    // With authentication a replica set needs a key file; the entrypoint makes it first.
    const command = mongo.command ?? [];
    const keyFile = command[command.indexOf('--keyFile') + 1];
    expect(keyFile).toMatch(/^\//);
    const [shell, flag, script] = mongo.entrypoint ?? [];
    expect([shell, flag]).toEqual(['bash', '-c']);
    expect(script).toContain(`> ${keyFile}`);
    expect(script).toContain(`chmod 400 ${keyFile}`);
    expect(script).toMatch(/exec docker-entrypoint\.sh "\$@"\s*$/);
    expect(spawnSync('bash', ['-n', '-c', script]).status).toBe(0);

    // The image runs the init script once, on an empty volume, before authentication is on.
    const initScript = '../docker/mongo/create-app-user.js';
    expect(mongo.volumes).toContain(
      `${initScript}:/docker-entrypoint-initdb.d/create-app-user.js:ro`,
    );
    const created: Array<{ database: string; user: unknown }> = [];
    const run = (scriptEnv: Record<string, string>) =>
      runInNewContext(readFileSync(path.join(ROOT, 'docker', initScript), 'utf8'), {
        process: { env: scriptEnv },
        db: {
          getSiblingDB: (database: string) => ({
            createUser: (user: unknown) => created.push({ database, user }),
          }),
        },
      });
    run(mongo.environment ?? {});
    expect(created).toEqual([
      {
        database: 'admin',
        user: {
          user: env.MONGO_APP_USERNAME,
          pwd: env.MONGO_APP_PASSWORD,
          roles: [{ role: 'readWrite', db: 'orders' }],
        },
      },
    ]);
    expect(() => run({})).toThrow('MONGO_APP_USERNAME');

    // The app signs in as that user, in the database the user was created in.
    for (const service of [api, worker]) {
      const uri = new URL(service.environment?.MONGODB_URI ?? '');
      expect({
        user: decodeURIComponent(uri.username),
        password: decodeURIComponent(uri.password),
        host: uri.host,
        database: uri.pathname,
        authSource: uri.searchParams.get('authSource'),
        replicaSet: uri.searchParams.get('replicaSet'),
      }).toEqual({
        user: env.MONGO_APP_USERNAME,
        password: env.MONGO_APP_PASSWORD,
        host: 'mongo:27017',
        database: '/orders',
        authSource: 'admin',
        replicaSet: 'rs0',
      });
      // ...and never holds the root credentials, which the env file also carries.
      expect(service.environment).toMatchObject({
        MONGO_ROOT_USERNAME: '',
        MONGO_ROOT_PASSWORD: '',
      });
    }
    // The healthcheck (which also initiates the replica set) signs in as root.
    const [kind, check] = mongo.healthcheck?.test ?? [];
    expect(kind).toBe('CMD-SHELL');
    expect(check).toContain('--username "$MONGO_INITDB_ROOT_USERNAME"');
    expect(check).toContain('--password "$MONGO_INITDB_ROOT_PASSWORD"');
    expect(check).toContain('--authenticationDatabase admin');
    expect(check).toContain('rs.initiate(');
    expect(spawnSync('sh', ['-n', '-c', check]).status).toBe(0);
  });

  it("runs Redis with the env file's password: unauthenticated clients are refused, its healthcheck and the app's REDIS_URL pass it (run here with redis-server)", async () => {
    const env = envFile();
    const { redis, api, worker } = interpolate(compose, env).services;
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'compose-redis-'));
    // What the image provides, on loopback: its entrypoint (drops root, then runs the command)
    // and redis-cli, which in the container finds Redis on its default port.
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeExecutable(
      path.join(bin, 'docker-entrypoint.sh'),
      `#!/bin/sh\nexec "$@" --port ${port} --bind 127.0.0.1 --dir ${dir}\n`,
    );
    writeExecutable(
      path.join(bin, 'redis-cli'),
      `#!/bin/sh\nexec ${onPath('redis-cli') ?? 'redis-cli'} -p ${port} "$@"\n`,
    );
    const container = { PATH: `${bin}:${process.env.PATH ?? ''}`, ...redis.environment };
    // The image's ENTRYPOINT, unless the compose file replaces it.
    const entrypoint = redis.entrypoint ?? ['docker-entrypoint.sh'];
    const [command, ...args] = [...entrypoint, ...(redis.command ?? [])];
    const server = await startProcess(command, args, /Ready to accept connections/, {
      env: container,
      cwd: dir,
      label: 'compose redis service',
    });
    try {
      expect(await redisAnswers(`redis://127.0.0.1:${port}`)).toBe(false);
      // redis-server replaced its process title: the password is not in the process list.
      const pid = server.child.pid ?? 0;
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('redis-server');
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(env.REDIS_PASSWORD);

      const [kind, check] = redis.healthcheck?.test ?? [];
      expect(kind).toBe('CMD-SHELL');
      const healthy = (password: string) =>
        spawnSync('sh', ['-c', check], { env: { ...container, REDIS_PASSWORD: password } }).status;
      expect(healthy(env.REDIS_PASSWORD)).toBe(0);
      expect(healthy(randomBytes(32).toString('hex'))).not.toBe(0);

      for (const service of [api, worker]) {
        const url = new URL(service.environment?.REDIS_URL ?? '');
        expect(url.host).toBe('redis:6379');
        expect(redisOptionsFromUrl(url.toString()).password).toBe(env.REDIS_PASSWORD);
        url.host = `127.0.0.1:${port}`;
        expect(await redisAnswers(url.toString())).toBe(true);
      }
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the app connection strings its configuration accepts', () => {
    const env = envFile();
    const { api } = interpolate(compose, env).services;
    const config = loadConfig({
      ...api.environment,
      JWT_ACCESS_SECRET: randomBytes(32).toString('base64url'),
      JWT_REFRESH_SECRET: randomBytes(32).toString('base64url'),
    });
    expect(config.mongodbUri).toBe(api.environment?.MONGODB_URI);
    expect(config.redis.url).toBe(api.environment?.REDIS_URL);
  });

  it('serves metrics of every app container on METRICS_PORT, published nowhere', () => {
    for (const role of ['api', 'worker']) {
      const port = compose.services[role].environment?.METRICS_PORT;
      expect({ role, port }).toEqual({ role, port: expect.stringMatching(/^\d+$/) as unknown });
      expect(compose.services[role].ports).toBeUndefined();
    }
  });

  it('starts things in order: data stores healthy, then the app, then Nginx', () => {
    for (const role of ['api', 'worker']) {
      expect(compose.services[role].depends_on).toEqual({
        mongo: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(compose.services.nginx.depends_on).toEqual({ api: { condition: 'service_healthy' } });
  });

  it('runs two API and two worker replicas in their roles', () => {
    expect(compose.services.api.environment?.APP_ROLE).toBe('api');
    expect(compose.services.worker.environment?.APP_ROLE).toBe('worker');
    expect(compose.services.api.deploy?.replicas).toBe(2);
    expect(compose.services.worker.deploy?.replicas).toBe(2);
  });

  it('runs MongoDB as a replica set and Redis with AOF and noeviction, both on volumes', () => {
    expect(compose.services.mongo.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    expect(compose.services.redis.command).toEqual(
      expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']),
    );
  });
});

describe('.env.example', () => {
  const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  const variables = new Map(
    [...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, name, value]) => [name, value]),
  );

  it("lists the data stores' credentials the compose file needs", () => {
    for (const name of CREDENTIALS)
      expect({ name, listed: variables.has(name) }).toEqual({ name, listed: true });
  });

  it('holds no secret: every password, secret and token is left empty, to be generated', () => {
    const filled = [...variables].filter(
      ([name, value]) => /PASSWORD|SECRET|TOKEN/.test(name) && value.trim() !== '',
    );
    expect(filled).toEqual([]);
  });
});

describe('docker-compose.dev.yml', () => {
  const { compose } = readCompose('docker-compose.dev.yml');

  it("publishes on the host's loopback only, and Redis not at all", () => {
    for (const [name, service] of Object.entries(compose.services))
      for (const port of service.ports ?? [])
        expect({ name, port }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:/) });
    expect(compose.services.redis.ports).toBeUndefined();
  });

  it('lets the published ports reach the app: it binds every interface of its container, and serves metrics on the published METRICS_PORT', () => {
    // `npm run dev` alone binds 127.0.0.1, which a published port cannot reach.
    const app = compose.services.app;
    expect(app.environment?.HOST).toBe('0.0.0.0');
    expect(app.ports).toEqual(['127.0.0.1:8000:8000', '127.0.0.1:9464:9464']);
    const dev = readFileSync(path.join(ROOT, 'tools', 'dev.ts'), 'utf8');
    expect(dev).toContain("METRICS_PORT: '9464'");
  });
});
