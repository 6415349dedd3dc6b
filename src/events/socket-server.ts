/**
 * Socket.IO's server options from the configuration: the gateway decorator's options are static,
 * these depend on the deployment (CORS_ORIGINS). Installed by http-setup.ts.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { IncomingMessage } from 'node:http';
import type { Server, ServerOptions } from 'socket.io';
import type { AppConfig } from '../config/config.js';
import { handshakeOriginAllowed } from './domain/handshake-origin.js';

/** Clients send nothing but the handshake; larger messages end their connection. */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;

export class LiveEventsAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    /** Whether a handshake may go on (the per-address limit). */
    private readonly allowHandshake?: (
      req: IncomingMessage,
      allow: (message: string | null, success: boolean) => void,
    ) => void,
  ) {
    super(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const origins = this.config.http.corsOrigins;
    return super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: MAX_CLIENT_MESSAGE_BYTES,
      allowRequest: (req, allow) => {
        if (!handshakeOriginAllowed(req.headers.origin, req.headers.host, origins)) {
          allow('This origin may not open live-event sockets (CORS_ORIGINS)', false);
          return;
        }
        if (this.allowHandshake) this.allowHandshake(req, allow);
        else allow(null, true);
      },
      // Long-polling from a storefront on another origin sends the cookie: the same allowlist.
      ...(origins.length > 0 ? { cors: { origin: origins, credentials: true } } : {}),
    } as ServerOptions);
  }
}
