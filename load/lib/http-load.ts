/**
 * HTTP load for what autocannon cannot measure, over Node's own keep-alive agent:
 *   - `pacedLoad`, open loop: requests go at evenly spaced moments whether or not earlier ones
 *     were answered, and each latency counts from the moment its request was due, so a slow answer
 *     is never hidden by sending less (no coordinated omission). autocannon's rate mode is not that:
 *     each connection sends as fast as it can until its share of the second is used, then waits
 *     for the next second, so "half the rate" there is full speed for half of every second.
 *   - `warmBurst`, closed loop: a burst over connections opened beforehand, as a proxy's
 *     keep-alive upstream connections would be, so no latency includes opening a connection.
 *     autocannon opens its connections with the first requests of a run: in a burst of ten
 *     requests per connection, a tenth of the latencies would be connection set-up.
 */
import * as http from 'node:http';
import { histogramOf } from './report.js';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  seconds: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  /** The bodies of 2xx answers, in the order they came, when asked for. */
  bodies: string[];
}

interface Answer {
  status: number;
  body: string;
}

class Recorder {
  readonly latencies: number[] = [];
  readonly statuses: Record<string, number> = {};
  readonly bodies: string[] = [];
  errors = 0;

  constructor(private readonly keepBodies: boolean) {}

  answered(answer: Answer | undefined, since: number): void {
    if (!answer) {
      this.errors++;
      return;
    }
    this.latencies.push(performance.now() - since);
    const status = String(answer.status);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (this.keepBodies && answer.status < 300) this.bodies.push(answer.body);
  }

  result(sent: number, seconds: number): LoadResult {
    return {
      sent,
      statuses: this.statuses,
      errors: this.errors,
      seconds,
      latency: histogramOf(this.latencies),
      bodies: this.bodies,
    };
  }
}

/** An answer that takes longer is counted as an error, as autocannon's `timeout` would: every run ends. */
const REQUEST_TIMEOUT_MS = 30_000;

function send(agent: http.Agent, url: URL, spec: LoadRequest): Promise<Answer | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: spec.method,
        path: spec.path,
        headers: spec.headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('no answer in time')));
    req.on('error', () => resolve(undefined));
    req.end(spec.body);
  });
}

export async function pacedLoad(
  baseUrl: string,
  options: {
    rate: number;
    seconds: number;
    /** Sockets kept open; requests beyond them queue in the agent (and their wait counts). */
    connections: number;
    request: (i: number) => LoadRequest;
    keepBodies?: boolean;
  },
): Promise<LoadResult> {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const recorder = new Recorder(options.keepBodies ?? false);
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(agent, url, options.request(i)).then((a) => recorder.answered(a, due)));
  }
  await Promise.all(inFlight);
  agent.destroy();
  return recorder.result(total, (performance.now() - started) / 1000);
}

export async function warmBurst(
  baseUrl: string,
  options: {
    connections: number;
    amount: number;
    request: (i: number) => LoadRequest;
    keepBodies?: boolean;
  },
): Promise<LoadResult> {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  // Open every connection with a request that touches nothing (the liveness check).
  await Promise.all(
    Array.from({ length: options.connections }, () =>
      send(agent, url, { method: 'GET', path: '/health', headers: {} }),
    ),
  );
  const recorder = new Recorder(options.keepBodies ?? false);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (next < options.amount) {
        const i = next++;
        const sentAt = performance.now();
        recorder.answered(await send(agent, url, options.request(i)), sentAt);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return recorder.result(options.amount, seconds);
}
