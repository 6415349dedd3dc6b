/**
 * What can be checked of the Docker deployment without a Docker engine: the image's entry command
 * runs the compiled app and stops cleanly on SIGTERM, and the compose file and Dockerfile keep
 * the rules the deployment relies on.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { parse } from 'yaml';
import { testEnv } from './support/app.js';
import { removeDeploymentKeys } from '../tools/harness/services.js';
import { ROOT, startProcess } from '../tools/harness/processes.js';
import { freePort } from '../tools/harness/services.js';
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
  it('holds everything `npm run dev` runs: the sources and tools/, none of them ignored', () => {
    const development = stage('development');
    for (const copy of [
      'COPY tsconfig.json tsconfig.build.json ./',
      'COPY src ./src',
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
    for (const needed of ['src', 'tools', 'tsconfig.json', 'tsconfig.build.json'])
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
  healthcheck?: { test?: unknown };
  environment?: Record<string, string>;
  env_file?: unknown;
  depends_on?: Record<string, { condition: string }>;
  command?: string[];
  deploy?: { replicas?: number };
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker', 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<string, ComposeService>;
  };
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
        if (/SECRET|PASSWORD|TOKEN|PRIVATE/i.test(key))
          expect({ name, key, value }).toEqual({
            name,
            key,
            value: expect.stringMatching(/^\$\{/),
          });
      }
    }
    expect(compose.services.api.env_file).toBeDefined();
    expect(compose.services.worker.env_file).toBeDefined();
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
