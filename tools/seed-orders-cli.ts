/**
 * `npm run seed:reports -- --orders 1000000 --days 365 [--mongo <uri>] [--seed N] [--products N]
 * [--currencies EUR,USD]`: seeds orders accepted over the past `--days` days, ending now, into the
 * database of `--mongo` (default MONGODB_URI, or mongodb://127.0.0.1:27017/orders), and says what
 * it wrote (tools/seed-orders.ts).
 */
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { redactUrl } from './harness/services.js';
import { seedOrders } from './seed-orders.js';

const DAY_MS = 24 * 60 * 60 * 1000;

function wholeNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      orders: { type: 'string', default: '100000' },
      days: { type: 'string', default: '365' },
      mongo: { type: 'string' },
      seed: { type: 'string', default: '1' },
      products: { type: 'string', default: '50' },
      currencies: { type: 'string', default: 'EUR' },
    },
  });
  const uri = values.mongo ?? process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/orders';
  const orders = wholeNumber('orders', values.orders);
  const days = wholeNumber('days', values.days);
  const to = new Date();
  const from = new Date(to.getTime() - days * DAY_MS);
  const client = await MongoClient.connect(uri);
  try {
    const db = client.db();
    process.stdout.write(
      `seeding ${orders.toLocaleString('en')} orders accepted ${from.toISOString()} – ${to.toISOString()} into ${db.databaseName} at ${redactUrl(uri)}\n`,
    );
    const started = Date.now();
    const result = await seedOrders(db, {
      orders,
      from,
      to,
      seed: wholeNumber('seed', values.seed),
      products: wholeNumber('products', values.products),
      currencies: values.currencies.split(',').map((c) => c.trim().toUpperCase()),
      progress: (inserted) => {
        if (inserted % 100_000 === 0 && inserted < orders)
          process.stdout.write(
            `  ${inserted.toLocaleString('en')} after ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
          );
      },
    });
    const currencies = new Map<string, number>();
    for (const p of result.products)
      currencies.set(p.currency, (currencies.get(p.currency) ?? 0) + 1);
    process.stdout.write(
      [
        `inserted ${result.inserted.toLocaleString('en')} orders in ${result.seconds.toFixed(1)} s (${Math.round(result.inserted / result.seconds).toLocaleString('en')} orders/s)`,
        `products: ${result.products.length} (${[...currencies].map(([c, n]) => `${n} in ${c}`).join(', ')})`,
        '',
      ].join('\n'),
    );
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
