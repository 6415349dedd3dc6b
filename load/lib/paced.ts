/**
 * An open-loop load generator: requests are sent at evenly spaced moments (`rate` per second),
 * whether or not earlier ones have been answered, and each latency is measured from the moment
 * its request was due, so a slow answer is never hidden by sending less (no coordinated
 * omission). autocannon's rate mode is not that: each of its connections sends as fast as it can
 * until its share of the second is used up, then waits for the next second, so "half the rate"
 * there is full speed for half of every second.
 */
import * as http from 'node:http';
import { histogramOf } from './report.js';

export interface PacedRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface PacedResult {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  seconds: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  /** The bodies of 202/200 answers, when asked for. */
  bodies: string[];
}

export async function pacedLoad(
  baseUrl: string,
  options: {
    rate: number;
    seconds: number;
    /** Sockets kept open; requests beyond them queue in the agent (and their wait counts). */
    connections: number;
    request: (i: number) => PacedRequest;
    keepBodies?: boolean;
  },
): Promise<PacedResult> {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const bodies: string[] = [];
  let errors = 0;
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [];

  const send = (i: number, due: number) =>
    new Promise<void>((resolve) => {
      const spec = options.request(i);
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
          res.on('end', () => {
            latencies.push(performance.now() - due);
            const status = String(res.statusCode ?? 0);
            statuses[status] = (statuses[status] ?? 0) + 1;
            if (options.keepBodies && (res.statusCode ?? 0) < 300)
              bodies.push(Buffer.concat(chunks).toString('utf8'));
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(spec.body);
    });

  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(i, due));
  }
  await Promise.all(inFlight);
  agent.destroy();
  const histogram = histogramOf(latencies);
  return {
    sent: total,
    statuses,
    errors,
    seconds: (performance.now() - started) / 1000,
    latency: histogram,
    bodies,
  };
}
