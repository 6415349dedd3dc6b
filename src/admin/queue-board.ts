/**
 * Bull Board, the BullMQ dashboard, at /admin/queues: the order queue and the dead-letter queue,
 * for admins only. The board is an Express app of its own, outside Nest's router, so Nest's guards
 * do not reach it; `requireRole` checks the access cookie in front of every path under the mount
 * (page, static assets and the board's JSON API alike), before the board sees the request, with
 * the same verifier as the guards: a revoked session is refused here too. A browser opening the
 * board without a valid session is sent to sign in and comes back (`signIn.page`).
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
import { REPORTS_QUEUE } from '../reports/reports.queue.js';

export const QUEUE_BOARD_PATH = '/admin/queues';

export interface BoardSignIn {
  /** The sign-in page a browser without a valid session is sent to. */
  page: string;
  /** A same-origin script that keeps the session of an open board alive (see `withSessionKeeper`). */
  sessionScript: string;
}

/** Mounts the board in the roles that serve the API; call after cookie-parser is installed. */
export function mountQueueBoard(
  app: NestExpressApplication,
  config: AppConfig,
  signIn: BoardSignIn,
): void {
  if (config.role === 'worker') return;
  const board = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    // Read-only: the board is for looking. Its job actions (retry, edit data, clean) would change
    // the queues behind MongoDB's back; a dead-lettered order is retried through
    // POST /admin/dlq/{jobId}/retry, which reopens the order before it re-queues the job.
    queues: [ORDER_QUEUE, DEAD_LETTER_QUEUE, REPORTS_QUEUE].map(
      (name) => new BullMQAdapter(app.get<Queue>(getQueueToken(name)), { readOnlyMode: true }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Order queues' } },
  });
  app.use(
    QUEUE_BOARD_PATH,
    requireRole(app.get(AccessTokenVerifier), ['admin'], { signInPage: signIn.page }),
    withSessionKeeper(signIn.sessionScript, config.jwt.accessTtlSeconds),
    board.getRouter() as RequestHandler,
  );
}

/**
 * Adds `script` to the board's page. An open board polls its API with the access cookie, which
 * expires after JWT_ACCESS_TTL, and only a request to /auth carries the refresh cookie: so the
 * page itself must refresh the session, before the token expires. Bull Board has no setting for
 * an extra script, and its UI calls the API through XHR, where a 401 cannot be caught from
 * outside; hence one tag added to the HTML it renders, with the token lifetime the script needs.
 */
function withSessionKeeper(script: string, accessTtlSeconds: number): RequestHandler {
  const tag = `<script type="module" src="${script}?access-ttl=${accessTtlSeconds}"></script>`;
  return (req, res, next) => {
    // The page's routes; its JSON API and static files are left alone.
    if (req.method === 'GET' && !/^\/(api|static)\//.test(req.path)) {
      const send = res.send.bind(res);
      res.send = (body?: unknown) =>
        // The rendered page is a string sent without a Content-Type yet (res.json sets its own).
        send(
          typeof body === 'string' && res.get('Content-Type') === undefined
            ? body.replace('</body>', `${tag}</body>`)
            : body,
        );
    }
    next();
  };
}
