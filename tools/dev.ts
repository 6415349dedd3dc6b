/**
 * `npm run dev`: the whole backend on one machine with no setup. Uses MONGODB_URI / REDIS_URL when
 * set; otherwise the offline MongoDB-compatible server (data kept in .data/mongo) and a local or
 * started Redis. Compiles in watch mode, restarts the app on change, seeds demo data once and
 * prints where everything is. Ctrl-C stops it all.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT, StartedProcess, startProcess } from './harness/processes.js';
import { Service, freePort, resolveRedis, startOfflineMongo } from './harness/services.js';
import { waitFor } from './harness/wait.js';
import { createProduct, fetchHttp, promoteToVip, signInOrRegister } from './storefront.js';

const DATA = path.join(ROOT, '.data');
const DEMO = {
  admin: { email: 'admin@demo.shop', password: 'demo-admin-password', name: 'Demo Admin' },
  vip: { email: 'vip@demo.shop', password: 'demo-vip-password', name: 'Vera VIP' },
  regular: { email: 'regular@demo.shop', password: 'demo-regular-password', name: 'Rob Regular' },
};
const PRODUCTS = [
  ['Espresso cup', 1299, 40],
  ['Cappuccino cup', 1499, 35],
  ['Latte glass', 1199, 50],
  ['Moka pot', 3999, 12],
  ['French press', 2999, 20],
  ['Hand grinder', 5999, 8],
  ['Pour-over dripper', 2499, 25],
  ['Paper filters (100)', 599, 200],
  ['Milk jug', 1899, 30],
  ['Tamper', 2299, 15],
  ['Coffee beans 1 kg', 2899, 60],
  ['Limited edition mug', 2499, 5],
] as const;

/** JWT secrets kept across restarts so sessions survive them. */
function devSecrets(): { access: string; refresh: string } {
  const file = path.join(DATA, 'dev-secrets.json');
  if (existsSync(file))
    return JSON.parse(readFileSync(file, 'utf8')) as { access: string; refresh: string };
  const secrets = {
    access: randomBytes(32).toString('hex'),
    refresh: randomBytes(32).toString('hex'),
  };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

async function mongo(): Promise<Service> {
  if (process.env.MONGODB_URI)
    return { url: process.env.MONGODB_URI, description: 'MONGODB_URI', stop: async () => {} };
  const server = await startOfflineMongo({
    dbPath: path.join(DATA, 'mongo'),
    port: await freePort(),
  });
  return { ...server, url: `${server.url}/orders` };
}

/** Demo accounts and a catalog, once: skipped when the catalog already has products. */
async function seed(base: string): Promise<void> {
  const admin = fetchHttp(base);
  await signInOrRegister(admin, DEMO.admin);
  const vipId = await signInOrRegister(fetchHttp(base), DEMO.vip);
  await signInOrRegister(fetchHttp(base), DEMO.regular);
  await promoteToVip(admin, vipId);
  const catalog = await admin.send('GET', '/stock/products-with-stock?limit=1');
  if ((catalog.body as { total: number }).total > 0) return;
  for (const [name, price, quantity] of PRODUCTS) {
    await createProduct(admin, {
      name,
      description: `Demo product: ${name}`,
      price,
      currency: 'USD',
      quantity,
    });
  }
}

/** Where this run serves /metrics, by the rule of src/metrics/metrics-access.ts. */
function metricsUrl(env: Record<string, string>, base: string): string {
  const port = env.METRICS_PORT?.trim();
  const token = env.METRICS_TOKEN?.trim() ? '  (Authorization: Bearer $METRICS_TOKEN)' : '';
  if (port) return `http://127.0.0.1:${port}/metrics${token}`;
  return token ? `${base}/metrics${token}` : 'not served (set METRICS_PORT or METRICS_TOKEN)';
}

async function main(): Promise<void> {
  mkdirSync(DATA, { recursive: true });
  if (existsSync(path.join(ROOT, '.env'))) process.loadEnvFile(path.join(ROOT, '.env'));
  const services = [await mongo(), await resolveRedis()];
  const [db, redis] = services;
  const secrets = devSecrets();
  const port = process.env.PORT ?? '8000';
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    BCRYPT_ROUNDS: '10',
    ADMIN_EMAIL: DEMO.admin.email,
    ADMIN_PASSWORD: DEMO.admin.password,
    JWT_ACCESS_SECRET: secrets.access,
    JWT_REFRESH_SECRET: secrets.refresh,
    // The demo admin password is printed below: only this machine reaches it unless HOST says so.
    HOST: '127.0.0.1',
    // The API port does not serve metrics; they get a listener of their own (docs/OPERATIONS.md).
    METRICS_PORT: '9464',
    ...(process.env as Record<string, string>),
    MONGODB_URI: db.url,
    REDIS_URL: redis.url,
    PORT: port,
  };

  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
  const compiler = await startProcess(
    tsc,
    ['-p', 'tsconfig.build.json', '--watch', '--preserveWatchOutput'],
    /Watching for file changes/,
    {
      label: 'tsc --watch',
      timeoutMs: 120_000,
    },
  );
  compiler.child.stdout?.pipe(process.stdout);
  const app: StartedProcess = await startProcess(
    process.execPath,
    ['--watch-path=dist', path.join(ROOT, 'dist', 'main.js')],
    null,
    {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      label: 'app',
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/health/ready`)).ok, {
    timeoutMs: 60_000,
    what: 'the app to become ready',
  });
  await seed(base);

  process.stdout.write(`
  Order backend is running (development)
    API            ${base}
    For a storefront dev server on localhost (Vite, Next…): call http://localhost:${port}
                   (same site as the page, so its cookies stick; 127.0.0.1 is another site)
    Swagger        ${base}/api/docs
    Dashboard      ${base}/dashboard/   (live orders, stock and queue; staff and admins)
    Bull Board     ${base}/admin/queues   (admins; it signs you in through the dashboard)
    Health         ${base}/health  ${base}/health/ready
    Metrics        ${metricsUrl(env, base)}
    MongoDB        ${db.description}
    Redis          ${redis.description}
  Demo accounts (development only)
    admin    ${DEMO.admin.email} / ${DEMO.admin.password}
    VIP      ${DEMO.vip.email} / ${DEMO.vip.password}
    regular  ${DEMO.regular.email} / ${DEMO.regular.password}
  Ctrl-C stops everything.
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.stop('SIGTERM');
    await compiler.stop('SIGTERM');
    for (const service of services.reverse()) await service.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`npm run dev failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
