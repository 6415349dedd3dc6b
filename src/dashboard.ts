/**
 * The staff dashboard at /dashboard/: static files (public/dashboard/, no build step) that sign in
 * with the cookie flow and follow the live order events (docs/OPERATIONS.md). The files are
 * public, like any sign-in page; every figure they show comes from routes and events that check
 * the caller. They load under helmet's default CSP: no inline script, every script same-origin
 * (the Socket.IO client is served by the Socket.IO server at /socket.io/socket.io.min.js).
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from './config/config.js';

export const DASHBOARD_PATH = '/dashboard/';

/** Keeps Bull Board's session alive; the board's page loads it (src/admin/queue-board.ts). */
export const BOARD_SESSION_SCRIPT = `${DASHBOARD_PATH}board-session.js`;

/** public/dashboard/ at the repository root, beside src/ and dist/ (this file is in either). */
const DASHBOARD_FILES = fileURLToPath(new URL('../public/dashboard/', import.meta.url));

/** Serves the dashboard in the roles that serve the API. */
export function mountDashboard(app: NestExpressApplication, config: AppConfig): void {
  if (config.role === 'worker') return;
  // An image built without public/ would answer 404 to every operator: refuse to start instead.
  if (!existsSync(DASHBOARD_FILES))
    throw new Error(`The dashboard's files are missing: ${DASHBOARD_FILES}`);
  // A file that is not there falls through to the API's 404.
  app.use(DASHBOARD_PATH, express.static(DASHBOARD_FILES));
}
