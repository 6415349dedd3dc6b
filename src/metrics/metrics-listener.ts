/**
 * The metrics listener of its own (METRICS_PORT): a plain HTTP server that answers `GET /metrics`
 * by the one rule of metrics-access.ts and nothing else, so it can be opened to the monitoring
 * network without opening any API route or operator page with it.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type winston from 'winston';
import type { AppConfig } from '../config/config.js';
import { ScrapeAnswer, answerScrape, errorAnswer } from './metrics-access.js';
import type { Metrics } from './metrics.service.js';

/** Listens on `port` (METRICS_PORT) at METRICS_HOST or HOST; resolves once it listens. */
export async function listenForMetrics(
  metrics: Metrics,
  config: AppConfig,
  port: number,
  logger: winston.Logger,
): Promise<Server> {
  const server = createServer((req, res) => {
    answer(metrics, config, req).then(
      (answer) => send(req, res, answer),
      (err: unknown) => {
        logger.error(`metrics scrape failed: ${err instanceof Error ? err.message : String(err)}`, {
          context: 'Metrics',
        });
        send(req, res, errorAnswer(500, 'Internal server error'));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.metrics.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

async function answer(
  metrics: Metrics,
  config: AppConfig,
  req: IncomingMessage,
): Promise<ScrapeAnswer> {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  if (url.split('?')[0] !== '/metrics') return errorAnswer(404, `Cannot ${method} ${url}`);
  if (method !== 'GET' && method !== 'HEAD')
    return errorAnswer(405, `Cannot ${method} /metrics`, { Allow: 'GET, HEAD' });
  return answerScrape(metrics, config, 'metrics-port', {
    method,
    url,
    authorization: req.headers.authorization,
  });
}

function send(req: IncomingMessage, res: ServerResponse, answer: ScrapeAnswer): void {
  res.writeHead(answer.status, {
    ...answer.headers,
    'Content-Length': String(Buffer.byteLength(answer.body)),
  });
  res.end(req.method === 'HEAD' ? undefined : answer.body);
}
