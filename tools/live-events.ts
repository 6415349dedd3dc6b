/**
 * A Socket.IO client of the live order events (namespace /events), as a storefront or a staff
 * screen uses it, for tests and load runs: it authenticates with the session's Cookie header,
 * keeps the id of the last event it saw and sends it when it reconnects, and records every event.
 */
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';

export interface ReceivedEvent {
  name: string;
  payload: Record<string, unknown> & { id?: string };
  receivedAt: number;
}

export interface LiveEventsClient {
  socket: Socket;
  events: ReceivedEvent[];
  /** The id it resumes from: the last event's, or the one `events_ready` gave. */
  readonly lastEventId: string | undefined;
  /** The events named `name`, in the order received. */
  named(name: string): ReceivedEvent[];
  close(): void;
}

export interface LiveEventsOptions {
  /** The session's Cookie header (`FetchHttp.cookie`); none for an anonymous attempt. */
  cookie?: string;
  /** More headers on every request of the connection, e.g. an X-Request-Id to find it in a proxy's log. */
  headers?: Record<string, string>;
  /** Resume from this event id on the first connection too. */
  lastEventId?: string;
  /** Sent as the handshake's `auth` as it is, instead of the resume position (hostile tests). */
  auth?: Record<string, unknown>;
  /** Default: websocket only (browsers start with long-polling; both are served). */
  transports?: Array<'polling' | 'websocket'>;
  reconnectionDelayMs?: number;
}

export function connectLiveEvents(
  baseUrl: string,
  options: LiveEventsOptions = {},
): LiveEventsClient {
  const events: ReceivedEvent[] = [];
  const position: { lastEventId?: string } =
    options.lastEventId === undefined ? {} : { lastEventId: options.lastEventId };
  const socket = io(`${baseUrl}/events`, {
    transports: options.transports ?? ['websocket'],
    extraHeaders: {
      ...options.headers,
      ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
    },
    // Asked again at every (re)connection: the id of the last event seen.
    auth: (send) =>
      send(
        options.auth ??
          (position.lastEventId === undefined ? {} : { lastEventId: position.lastEventId }),
      ),
    reconnectionDelay: options.reconnectionDelayMs ?? 1000,
    reconnectionDelayMax: options.reconnectionDelayMs ?? 5000,
    randomizationFactor: options.reconnectionDelayMs === undefined ? 0.5 : 0,
  });
  socket.onAny((name: string, payload: ReceivedEvent['payload']) => {
    events.push({ name, payload, receivedAt: Date.now() });
    if (name === 'events_ready') position.lastEventId ??= payload.lastEventId as string;
    else if (typeof payload.id === 'string') position.lastEventId = payload.id;
  });
  return {
    socket,
    events,
    get lastEventId() {
      return position.lastEventId;
    },
    named: (name) => events.filter((event) => event.name === name),
    close: () => void socket.disconnect(),
  };
}

/** Resolves once connected (and joined: `events_ready`), rejects with the handshake's refusal. */
export function ready(client: LiveEventsClient, timeoutMs = 10_000): Promise<void> {
  const readies = client.named('events_ready').length;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no events_ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      if (client.named('events_ready').length <= readies) return;
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.socket.offAny(onReady);
      client.socket.off('connect_error', onError);
    };
    client.socket.onAny(onReady);
    client.socket.on('connect_error', onError);
  });
}
