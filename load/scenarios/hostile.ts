/**
 * `npm run load:hostile`: what hostile bodies cost everyone else. GET /health is paced at a fixed
 * rate twice, on the same stack: once alone (the reference), once while five clients send 100 KB
 * hostile bodies back to back, each as soon as the previous one is answered. The figure is how much
 * the hostile clients raise the p99 of the health checks (target: under 20 ms). Every hostile
 * request must be refused with a 4xx.
 *
 * The bodies are what the security review sent and what the request pipeline bounds: an order of
 * 33,000 empty lines, a sign-in with 8,000 unknown keys, arrays nested to just under the depth
 * limit, a 99 KB name, 99 KB of JSON broken at its last byte, and a body just under every limit
 * of the JSON's shape (it is parsed, transformed and validated in full). They are sent as a
 * signed-in shopper, so the order bodies reach validation rather than stopping at authentication.
 */
import * as http from 'node:http';
import { pacedLoad } from '../lib/http-load.js';
import { histogramOf, round, RunResult } from '../lib/report.js';
import { createShoppers } from '../lib/shoppers.js';
import { startStack } from '../../tools/harness/stack.js';

export interface HostileOptions {
  /** GET /health requests per second, in both phases. */
  rate: number;
  seconds: number;
  /** Clients sending hostile bodies back to back in the second phase. */
  attackers: number;
}

export const HOSTILE_DEFAULTS: HostileOptions = { rate: 200, seconds: 10, attackers: 5 };

/** Just under express.json's 100 KB limit, so every body is read and parsed. */
const BODY_BYTES = 100 * 1024 - 512;

interface HostileBody {
  name: string;
  path: string;
  body: string;
}

function padded(prefix: string, unit: string, suffix: string): string {
  const count = Math.floor((BODY_BYTES - prefix.length - suffix.length) / unit.length);
  return `${prefix}${unit.repeat(count)}${suffix}`;
}

export function hostileBodies(): HostileBody[] {
  const nested = `${'['.repeat(30)}0${']'.repeat(30)},`;
  const keys = Array.from({ length: 8000 }, (_, i) => `"k${i}":${i}`).join(',');
  return [
    {
      name: 'order, 33,000 empty lines',
      path: '/order',
      body: padded('{"items":[', '{},', '{}]}'),
    },
    {
      name: 'sign-in, 8,000 unknown keys',
      path: '/auth/login',
      body: padded(`{"email":"a@shop.test","password":"pppppppppppp",${keys}`, ' ', '}'),
    },
    {
      name: 'order, arrays nested 31 deep',
      path: '/order',
      body: padded('{"items":[', nested, '0]}'),
    },
    {
      name: 'registration, 99 KB name',
      path: '/auth/register',
      body: padded('{"email":"b@shop.test","password":"pppppppppppp","name":"', 'x', '"}'),
    },
    {
      name: 'order, JSON broken at the end',
      path: '/order',
      body: padded('{"items":[', '{},', '{}'),
    },
    {
      name: 'order, 140 objects of 13 long fields under an unknown key (under every limit)',
      path: '/order',
      body: JSON.stringify({
        items: [{ productId: 'a'.repeat(24), quantity: 1 }],
        extra: Array.from({ length: 140 }, () =>
          Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`k${i}`, 'v'.repeat(40)])),
        ),
      }),
    },
  ];
}

interface AttackResult {
  sent: number;
  statuses: Record<string, number>;
  latencies: number[];
}

function post(agent: http.Agent, url: URL, path: string, body: string, cookie: string) {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          cookie,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `attackers` clients, each sending the bodies in turn, back to back, until `stop` resolves. */
async function attack(
  apiUrl: string,
  cookie: string,
  attackers: number,
  stop: Promise<unknown>,
): Promise<AttackResult> {
  const url = new URL(apiUrl);
  const bodies = hostileBodies();
  const result: AttackResult = { sent: 0, statuses: {}, latencies: [] };
  let stopped = false;
  void stop.then(() => (stopped = true));
  await Promise.all(
    Array.from({ length: attackers }, async (_, client) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = client; !stopped; i++) {
        const { path, body } = bodies[i % bodies.length];
        const started = performance.now();
        const status = await post(agent, url, path, body, cookie).catch(() => 0);
        result.latencies.push(performance.now() - started);
        result.sent++;
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      }
      agent.destroy();
    }),
  );
  return result;
}

export async function runHostile(options: HostileOptions): Promise<RunResult> {
  const stack = await startStack({ label: 'hostile', workers: 0 });
  try {
    const [shopper] = await createShoppers(stack.apiUrl, 1, 0, `hostile${Date.now().toString(36)}`);
    if (!shopper) throw new Error('no shopper');
    const health = () =>
      pacedLoad(stack.apiUrl, {
        rate: options.rate,
        seconds: options.seconds,
        connections: 16,
        request: () => ({ method: 'GET', path: '/health', headers: {} }),
      });
    const alone = await health();
    const during = health();
    const attacked = await attack(stack.apiUrl, shopper.cookie, options.attackers, during);
    const withHostile = await during;
    const raised = round(withHostile.latency.p99 - alone.latency.p99);
    const serverErrors = Object.entries(attacked.statuses)
      .filter(([status]) => Number(status) >= 500 || Number(status) === 0)
      .reduce((sum, [, n]) => sum + n, 0);
    const healthOk = (r: typeof alone) =>
      r.errors === 0 && Object.keys(r.statuses).every((s) => s === '200');
    const hostileLatency = histogramOf(attacked.latencies);
    return {
      figures: {
        ...options,
        healthP99AloneMs: alone.latency.p99,
        healthP99WithHostileMs: withHostile.latency.p99,
        p99RaisedByMs: raised,
        healthP50AloneMs: alone.latency.p50,
        healthP50WithHostileMs: withHostile.latency.p50,
        hostileRequests: attacked.sent,
        hostileRequestsPerSecond: round(attacked.sent / withHostile.seconds),
        hostileStatuses: attacked.statuses,
        hostileLatencyMs: hostileLatency,
      },
      checks: [
        {
          name: 'hostile bodies raise the p99 of GET /health by less than 20 ms',
          ok: raised < 20,
          detail: `${alone.latency.p99} ms alone, ${withHostile.latency.p99} ms with ${options.attackers} hostile clients: +${raised} ms`,
        },
        {
          name: 'every hostile body is refused with a 4xx',
          ok: serverErrors === 0 && attacked.sent > 0,
          detail: JSON.stringify(attacked.statuses),
        },
        {
          name: 'every health check answered 200',
          ok: healthOk(alone) && healthOk(withHostile),
          detail: `${JSON.stringify(alone.statuses)} / ${JSON.stringify(withHostile.statuses)}`,
        },
      ],
      lines: [
        `- GET /health paced at ${options.rate}/s for ${options.seconds} s: p50 ${alone.latency.p50} ms, p99 **${alone.latency.p99} ms** alone`,
        `- the same while ${options.attackers} clients sent ${attacked.sent} hostile 100 KB bodies back to back (${round(attacked.sent / withHostile.seconds)}/s; answers ${JSON.stringify(attacked.statuses)}, p50 ${hostileLatency.p50} ms, p99 ${hostileLatency.p99} ms): p50 ${withHostile.latency.p50} ms, p99 **${withHostile.latency.p99} ms**`,
        `- p99 raised by **${raised} ms** (target < 20 ms)`,
        `- bodies: ${hostileBodies()
          .map((b) => b.name)
          .join('; ')}`,
      ],
    };
  } finally {
    await stack.stop();
  }
}
