/**
 * Bull Board, the BullMQ dashboard, at /admin/queues: the order queue and the dead-letter queue,
 * for admins only. The board is an Express app of its own, outside Nest's router, so Nest's guards
 * do not reach it; `requireRole` checks the access cookie in front of every path under the mount
 * (page, static assets and the board's JSON API alike), before the board sees the request, with
 * the same verifier as the guards: a revoked session is refused here too.
 *
 * Helmet's default CSP needs no exception here: the page's scripts are same-origin files, its one
 * inline <script> is a JSON data block (never executed), and its styles are allowed inline.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { getQueueToken } from '@nestjs/bullmq';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Queue } from 'bullmq';
import type { RequestHandler } from 'express';
import { AccessTokenVerifier } from '../auth/access-token.js';
import { requireRole } from '../auth/require-role.js';
import type { AppConfig } from '../config/config.js';
import { DEAD_LETTER_QUEUE, ORDER_QUEUE } from '../order/order.queue.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

/** Mounts the board in the roles that serve the API; call after cookie-parser is installed. */
export function mountQueueBoard(app: NestExpressApplication, config: AppConfig): void {
  if (config.role === 'worker') return;
  const board = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    // Read-only: the board is for looking. Its job actions (retry, edit data, clean) would change
    // the queues behind MongoDB's back; a dead-lettered order is retried through
    // POST /admin/dlq/{jobId}/retry, which reopens the order before it re-queues the job.
    queues: [ORDER_QUEUE, DEAD_LETTER_QUEUE].map(
      (name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)), { readOnlyMode: true }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Order queues' } },
  });
  app.use(
    QUEUE_BOARD_PATH,
    requireRole(app.get(AccessTokenVerifier), 'admin'),
    board.getRouter() as RequestHandler,
  );
}
