/**
 * Socket.IO at /socket.io/, namespace /events: live order events for shoppers and staff.
 *
 * - The handshake is authenticated by the access cookie (browsers send it; other clients send the
 *   Cookie header), with the same verifier as every HTTP route, revocation included. A refused
 *   handshake gets `connect_error` with `data: { statusCode: 401, message }`.
 * - A shopper's socket joins `user:<id>` and receives `order_status_update` of their own orders;
 *   staff and admins join `staff` and receive every event, plus `queue_summary`.
 * - A client that says which event it saw last (`auth: { lastEventId }`) is first sent what it
 *   missed (EventRelay.attach). Every socket is then told where it stands: `events_ready` with the
 *   id to resume from, and `resync_required` when what it missed cannot be sent.
 * - When the access token expires the socket receives `session_expired` and is disconnected: the
 *   client refreshes over REST and connects again. When its session ends (logout, the account's
 *   sessions ended) or its token is outdated (a role change), on any replica, it receives
 *   `session_ended` with the reason and is disconnected at once: a demoted staff member's socket
 *   stops receiving everyone's orders then, not when the token would have expired.
 */
import { Inject, Logger } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import {
  OnGatewayConnection,
  OnGatewayDisconnect,
  OnGatewayInit,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { AccessTokenVerifier } from '../auth/access-token.js';
import type { AccessClaims } from '../auth/access-token.js';
import type { AuthUser } from '../auth/auth-user.js';
import { ACCESS_COOKIE } from '../auth/cookies.js';
import { SessionRevocation } from '../auth/session-revocation.js';
import { AppError } from '../common/errors.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Metrics } from '../metrics/metrics.service.js';
import { DEAD_LETTER_QUEUE, ORDER_QUEUE, OrderQueue } from '../order/order.queue.js';
import { cookieValue } from './domain/cookie-header.js';
import { parseEventId } from './domain/live-event.js';
import type { LiveEvent } from './domain/live-event.js';
import { EventRelay } from './event-relay.js';

export const EVENTS_NAMESPACE = '/events';
export const STAFF_ROOM = 'staff';
const ownRoom = (userId: string) => `user:${userId}`;

export const SESSION_EXPIRED =
  'The access token has expired: refresh it over REST and connect again';

interface SocketState {
  user: AuthUser;
  claims: AccessClaims;
  expiresAt: number;
  expiry?: NodeJS.Timeout;
}

const isStaff = (user: AuthUser) => user.role === 'staff' || user.role === 'admin';

@WebSocketGateway({ namespace: EVENTS_NAMESPACE })
export class EventsGateway
  implements
    OnGatewayInit<Namespace>,
    OnGatewayConnection<Socket>,
    OnGatewayDisconnect<Socket>,
    OnApplicationShutdown
{
  private readonly logger = new Logger(EventsGateway.name);
  private namespace?: Namespace;
  private summaryTimer?: NodeJS.Timeout;
  private readonly summaryIntervalMs: number;

  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly relay: EventRelay,
    private readonly queue: OrderQueue,
    private readonly metrics: Metrics,
    revocation: SessionRevocation,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.summaryIntervalMs = config.events.summaryIntervalMs;
    revocation.onChange((key) => this.recheckSessions(key));
  }

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    namespace.use((socket, next) => {
      this.authenticate(socket).then(
        () => next(),
        (err: unknown) => next(handshakeRefusal(err)),
      );
    });
    this.relay.start((id, event) => this.deliver(id, event));
    this.summaryTimer = this.scheduleSummaries();
  }

  async handleConnection(socket: Socket): Promise<void> {
    const state = socket.data as SocketState;
    const { user } = state;
    const staff = isStaff(user);
    this.metrics.liveSockets.inc({ audience: staff ? 'staff' : 'shopper' });
    state.expiry = setTimeout(
      () => {
        socket.emit('session_expired', { message: SESSION_EXPIRED });
        socket.disconnect();
      },
      Math.min(Math.max(0, state.expiresAt - Date.now()), 2 ** 31 - 1),
    );
    const last = parseEventId((socket.handshake.auth as Record<string, unknown>).lastEventId);
    try {
      const attached = await this.relay.attach(
        last,
        (event) => staff || event.ownerId === user.id,
        (id, event) => socket.emit(event.name, { id, ...event.payload }),
        () => {
          if (socket.connected)
            void socket.join(staff ? [STAFF_ROOM, ownRoom(user.id)] : ownRoom(user.id));
        },
      );
      if (attached.resync)
        socket.emit('resync_required', {
          message: 'Events you missed are no longer kept: read your orders over REST',
        });
      socket.emit('events_ready', {
        lastEventId: attached.lastEventId,
        replayed: attached.replayed,
      });
    } catch (err) {
      this.logger.warn(
        `a socket could not join the live events (${String(err)}); disconnecting it`,
      );
      socket.emit('resync_required', { message: 'Live events are unavailable; try again shortly' });
      socket.disconnect();
    }
  }

  handleDisconnect(socket: Socket): void {
    const state = socket.data as Partial<SocketState>;
    clearTimeout(state.expiry);
    if (state.user)
      this.metrics.liveSockets.dec({ audience: isStaff(state.user) ? 'staff' : 'shopper' });
  }

  /**
   * Closes every socket's connection (shutdown: open connections would keep the HTTP server from
   * closing). No Socket.IO disconnect is sent, so clients take it for a lost connection: they
   * reconnect, to another replica behind the load balancer, and resume from their last event.
   */
  disconnectAll(): void {
    for (const socket of this.namespace?.sockets.values() ?? []) socket.conn.close();
  }

  onApplicationShutdown(): void {
    clearInterval(this.summaryTimer);
    this.disconnectAll();
  }

  private async authenticate(socket: Socket): Promise<void> {
    const token = cookieValue(socket.handshake.headers.cookie, ACCESS_COOKIE);
    const { user, claims, expiresAt } = await this.verifier.verifySession(token);
    Object.assign(socket.data as object, { user, claims, expiresAt } satisfies SocketState);
  }

  /**
   * A session key changed (`family:<sid>` or `user:<id>`; undefined: any may have): the sockets it
   * concerns are checked again, and those whose token is no longer accepted are ended.
   */
  private recheckSessions(key: string | undefined): void {
    const namespace = this.namespace;
    if (!namespace) return;
    const colon = key?.indexOf(':') ?? -1;
    const [kind, id] = key === undefined ? [] : [key.slice(0, colon), key.slice(colon + 1)];
    for (const socket of namespace.sockets.values()) {
      const { claims } = socket.data as Partial<SocketState>;
      if (!claims) continue;
      if (kind === 'family' && claims.sid !== id) continue;
      if (kind === 'user' && claims.sub !== id) continue;
      this.verifier.admitClaims(claims).catch((err: unknown) => {
        socket.emit('session_ended', {
          message: err instanceof AppError ? err.message : 'The session has ended',
        });
        socket.disconnect();
      });
    }
  }

  private deliver(id: string, event: LiveEvent): void {
    const namespace = this.namespace;
    if (!namespace) return;
    // Only to rooms someone is in: Socket.IO encodes a broadcast before it looks for recipients,
    // and most events (every new_order, every outcome of a shopper not connected here) have none.
    const joined = namespace.adapter.rooms;
    const rooms = [STAFF_ROOM, ...(event.ownerId === undefined ? [] : [ownRoom(event.ownerId)])];
    const listening = rooms.filter((room) => (joined.get(room)?.size ?? 0) > 0);
    if (listening.length > 0) namespace.to(listening).emit(event.name, { id, ...event.payload });
  }

  /** Queue summaries for the staff connected here, while some are. */
  private scheduleSummaries(): NodeJS.Timeout {
    let confirmations = this.relay.confirmationsSeen;
    let since = Date.now();
    const timer = setInterval(() => {
      const watching = (this.namespace?.adapter.rooms.get(STAFF_ROOM)?.size ?? 0) > 0;
      const now = Date.now();
      const confirmedPerSecond =
        ((this.relay.confirmationsSeen - confirmations) * 1000) / (now - since);
      confirmations = this.relay.confirmationsSeen;
      since = now;
      if (!watching) return;
      this.queue.counts().then(
        (counts) =>
          this.namespace
            ?.to(STAFF_ROOM)
            .emit('queue_summary', queueSummary(counts, confirmedPerSecond, now)),
        (err: unknown) => this.logger.warn(`no queue summary (${String(err)})`),
      );
    }, this.summaryIntervalMs);
    timer.unref();
    return timer;
  }
}

function queueSummary(
  counts: Record<string, Record<string, number>>,
  confirmedPerSecond: number,
  now: number,
): Record<string, unknown> {
  const orders = counts[ORDER_QUEUE] ?? {};
  const deadLetters = counts[DEAD_LETTER_QUEUE] ?? {};
  const total = (jobs: Record<string, number>) =>
    Object.entries(jobs)
      .filter(([state]) => state !== 'completed')
      .reduce((sum, [, n]) => sum + n, 0);
  return {
    waiting: (orders.waiting ?? 0) + (orders.prioritized ?? 0),
    active: orders.active ?? 0,
    delayed: orders.delayed ?? 0,
    failed: orders.failed ?? 0,
    deadLetters: total(deadLetters),
    confirmedPerSecond: Math.round(confirmedPerSecond * 10) / 10,
    at: new Date(now).toISOString(),
  };
}

/** What a refused handshake tells the client (`connect_error`). */
function handshakeRefusal(err: unknown): Error {
  const message = err instanceof AppError ? err.message : 'Authentication required';
  return Object.assign(new Error(message), { data: { statusCode: 401, message } });
}
