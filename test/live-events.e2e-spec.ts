/**
 * Live order events across processes, as production runs them: two API replicas (A and B) and a
 * worker process of the built app, sharing Redis and MongoDB, with socket.io-client as the
 * storefront and the staff screen.
 */
import { freePort, removeDeploymentKeys } from '../tools/harness/services.js';
import { AppProcess, startAppProcess } from '../tools/harness/app-process.js';
import { waitFor } from '../tools/harness/wait.js';
import { LiveEventsClient, connectLiveEvents, ready } from '../tools/live-events.js';
import {
  FetchHttp,
  createProduct,
  decidedOrder,
  fetchHttp,
  placeOrder,
  register,
  signIn,
} from '../tools/storefront.js';
import { accessKeys, tokenCodec } from '../src/auth/jwt-keys.js';
import { loadConfig } from '../src/config/config.js';
import { ADMIN, testEnv } from './support/app.js';

describe('live order events (two API replicas, a worker process)', () => {
  const env = testEnv('live-events', {
    WORKER_CONCURRENCY: '8',
    EVENTS_SUMMARY_INTERVAL_MS: '300',
  });
  const running: AppProcess[] = [];
  const clients: LiveEventsClient[] = [];
  let apiA: AppProcess;
  let apiB: AppProcess;
  let admin: FetchHttp;
  let shopperCount = 0;

  const connect = (api: AppProcess, cookie?: string, reconnectionDelayMs?: number) => {
    const client = connectLiveEvents(api.url, {
      ...(cookie === undefined ? {} : { cookie }),
      ...(reconnectionDelayMs === undefined ? {} : { reconnectionDelayMs }),
    });
    clients.push(client);
    return client;
  };

  /** A shopper registered and signed in through `api`. */
  const shopper = async (api: AppProcess) => {
    const http = fetchHttp(api.url);
    const id = await register(http, {
      email: `live${++shopperCount}.${process.pid}@shop.test`,
      password: 'shopper-password',
      name: `Live ${shopperCount}`,
    });
    return { id, email: `live${shopperCount}.${process.pid}@shop.test`, http };
  };

  /** The same session's cookie, as another replica receives it. */
  const sameSessionOn = (http: FetchHttp) => http.cookie;

  const statusUpdatesOf = (client: LiveEventsClient, orderId?: string) =>
    client
      .named('order_status_update')
      .map((event) => event.payload)
      .filter((payload) => orderId === undefined || payload.orderId === orderId);

  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    apiA = await startAppProcess({ ...env, APP_ROLE: 'api', PORT: String(portA) });
    running.push(apiA);
    apiB = await startAppProcess({ ...env, APP_ROLE: 'api', PORT: String(portB) });
    running.push(apiB);
    running.push(await startAppProcess({ ...env, APP_ROLE: 'worker' }));
    admin = fetchHttp(apiB.url);
    await signIn(admin, ADMIN);
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(running.map((proc) => proc.stop()));
    await removeDeploymentKeys(env.REDIS_URL, env.QUEUE_PREFIX);
  });

  it('sends a shopper on replica A the outcome of an order placed on B, and nobody else’s', async () => {
    const product = await createProduct(admin, { quantity: 1 });
    const [alice, bob] = [await shopper(apiB), await shopper(apiB)];
    const aliceEvents = connect(apiA, sameSessionOn(alice.http));
    const bobEvents = connect(apiA, sameSessionOn(bob.http));
    const staffEvents = connect(apiA, admin.cookie);
    await Promise.all([ready(aliceEvents), ready(bobEvents), ready(staffEvents)]);

    // One unit: Alice's order is confirmed, Bob's (placed after it is decided) is sold out.
    const aliceOrder = await placeOrder(alice.http, [{ productId: product.id, quantity: 1 }]);
    await decidedOrder(alice.http, aliceOrder.id);
    const bobOrder = await placeOrder(bob.http, [{ productId: product.id, quantity: 1 }]);

    await waitFor(() => statusUpdatesOf(bobEvents, bobOrder.id).length > 0, {
      what: 'Bob to receive his order’s outcome',
    });
    await waitFor(() => statusUpdatesOf(aliceEvents, aliceOrder.id).length > 0, {
      what: 'Alice to receive her order’s outcome',
    });
    expect(statusUpdatesOf(aliceEvents)).toEqual([
      expect.objectContaining({
        orderId: aliceOrder.id,
        status: 'CONFIRMED',
        seq: 3,
        at: expect.any(String),
        id: expect.any(String),
      }),
    ]);
    expect(statusUpdatesOf(bobEvents)).toEqual([
      expect.objectContaining({
        orderId: bobOrder.id,
        status: 'FAILED',
        reason: 'OUT_OF_STOCK',
        seq: 2,
      }),
    ]);
    // Shoppers receive nothing meant for staff.
    for (const client of [aliceEvents, bobEvents])
      expect(client.events.map((event) => event.name).sort()).toEqual([
        'events_ready',
        'order_status_update',
      ]);
    // The history over REST agrees with the event.
    const { items: history } = (await alice.http.send('GET', `/order/${aliceOrder.id}/history`))
      .body as { items: Array<{ seq: number; status: string; at: string }> };
    const confirmed = history.find((entry) => entry.status === 'CONFIRMED');
    expect(statusUpdatesOf(aliceEvents)[0]).toMatchObject({
      seq: confirmed?.seq,
      at: confirmed?.at,
    });

    // Staff receive everything: both orders' acceptance and outcome, and the stock change.
    await waitFor(() => statusUpdatesOf(staffEvents, bobOrder.id).length > 0, {
      what: 'staff to receive both outcomes',
    });
    expect(staffEvents.named('new_order').map((e) => e.payload.orderId)).toEqual(
      expect.arrayContaining([aliceOrder.id, bobOrder.id]),
    );
    expect(
      staffEvents.named('new_order').find((e) => e.payload.orderId === bobOrder.id)?.payload,
    ).toMatchObject({
      seq: 1,
      status: 'PENDING',
      userId: bob.id,
    });
    expect(statusUpdatesOf(staffEvents, aliceOrder.id)).toHaveLength(1);
    expect(staffEvents.named('stock_changed').map((e) => e.payload)).toContainEqual(
      expect.objectContaining({ productId: product.id, available: 0 }),
    );
  });

  it('sends staff a queue summary every interval', async () => {
    const staff = connect(apiB, admin.cookie);
    await ready(staff);
    await waitFor(() => staff.named('queue_summary').length >= 2, { what: 'two queue summaries' });
    expect(staff.named('queue_summary')[0]?.payload).toEqual({
      waiting: expect.any(Number),
      active: expect.any(Number),
      delayed: expect.any(Number),
      failed: expect.any(Number),
      deadLetters: expect.any(Number),
      confirmedPerSecond: expect.any(Number),
      at: expect.any(String),
    });
    const customer = await shopper(apiA);
    const shopperSocket = connect(apiB, customer.http.cookie);
    await ready(shopperSocket);
    // Two summaries more reach staff; none reaches the shopper.
    const seen = staff.named('queue_summary').length;
    await waitFor(() => staff.named('queue_summary').length >= seen + 2, {
      what: 'more summaries',
    });
    expect(shopperSocket.named('queue_summary')).toEqual([]);
  });

  it('replays every event a client missed while disconnected during a burst, in order', async () => {
    const product = await createProduct(admin, { quantity: 200 });
    const buyer = await shopper(apiA);
    // Reconnects 3 s after losing its connection, saying which event it saw last.
    const buyerEvents = connect(apiB, buyer.http.cookie, 3000);
    const staffEvents = connect(apiA, admin.cookie, 3000);
    await Promise.all([ready(buyerEvents), ready(staffEvents)]);

    const placed: string[] = [];
    const burst = async (count: number) => {
      for (let i = 0; i < count; i++)
        placed.push((await placeOrder(buyer.http, [{ productId: product.id, quantity: 1 }])).id);
    };
    await burst(10);
    await waitFor(() => statusUpdatesOf(buyerEvents).length >= 1, { what: 'the first outcome' });
    // The connections drop (as a network would); orders keep being placed and decided meanwhile.
    const reconnected = Promise.all([ready(buyerEvents, 15_000), ready(staffEvents, 15_000)]);
    buyerEvents.socket.io.engine.close();
    staffEvents.socket.io.engine.close();
    await burst(40);
    await reconnected;
    await Promise.all(placed.map((id) => decidedOrder(buyer.http, id)));

    await waitFor(() => statusUpdatesOf(buyerEvents).length >= placed.length, {
      what: 'every outcome to reach the buyer',
    });
    const updates = statusUpdatesOf(buyerEvents);
    // Each order's outcome exactly once, nothing of anyone else's, in stream order.
    expect(updates.map((u) => u.orderId).sort()).toEqual([...placed].sort());
    expect(updates.every((u) => u.status === 'CONFIRMED')).toBe(true);
    expect(isIncreasing(updates.map((u) => String(u.id)))).toBe(true);
    // The replay really happened: the second events_ready counted what was sent first.
    const readies = buyerEvents.named('events_ready').map((e) => e.payload);
    expect(readies).toHaveLength(2);
    expect(readies[1]?.replayed).toBeGreaterThan(0);
    expect(buyerEvents.named('resync_required')).toEqual([]);

    // Staff too: every acceptance and every outcome, once each, in order.
    await waitFor(
      () =>
        statusUpdatesOf(staffEvents).filter((u) => placed.includes(String(u.orderId))).length >=
        placed.length,
      {
        what: 'every outcome to reach staff',
      },
    );
    const staffOrders = staffEvents.events.filter(
      (e) =>
        e.name !== 'queue_summary' &&
        e.name !== 'events_ready' &&
        placed.includes(String(e.payload.orderId)),
    );
    expect(staffOrders.filter((e) => e.name === 'new_order')).toHaveLength(placed.length);
    expect(staffOrders.filter((e) => e.name === 'order_status_update')).toHaveLength(placed.length);
    expect(
      isIncreasing(
        staffEvents.events
          .filter((e) => e.payload.id !== undefined)
          .map((e) => String(e.payload.id)),
      ),
    ).toBe(true);
  });

  it('tells a client whose last event is older than the replay window to re-sync over REST', async () => {
    const customer = await shopper(apiA);
    const stale = connect(apiA, customer.http.cookie);
    // An id from an hour ago: whatever followed it may be gone.
    const hourAgo = `${Date.now() - 3600_000}-0:0`;
    stale.close();
    const resuming = connectLiveEvents(apiA.url, {
      cookie: customer.http.cookie,
      lastEventId: hourAgo,
    });
    clients.push(resuming);
    await ready(resuming);
    expect(resuming.named('resync_required')).toHaveLength(1);
  });

  it('refuses a handshake without a valid access cookie', async () => {
    const anonymous = connect(apiA);
    await expect(ready(anonymous)).rejects.toMatchObject({
      message: 'Authentication required',
      data: { statusCode: 401, message: 'Authentication required' },
    });
    const forged = connect(apiA, 'access_token=not.a.token');
    await expect(ready(forged)).rejects.toMatchObject({ data: { statusCode: 401 } });

    const customer = await shopper(apiA);
    const expired = connect(apiA, `access_token=${resignedToken(customer.http.cookie, -60)}`);
    await expect(ready(expired)).rejects.toMatchObject({ data: { statusCode: 401 } });

    // A page of another origin (cross-site WebSocket hijacking: CORS does not cover WebSockets)
    // is refused, with a valid session; a page of the API's own host is admitted.
    const origin = (value: string) =>
      connectLiveEvents(apiA.url, {
        cookie: customer.http.cookie,
        headers: { origin: value },
        transports: ['websocket'],
      });
    const foreign = origin('https://evil.example');
    clients.push(foreign);
    await expect(ready(foreign)).rejects.toThrow('websocket error');
    const own = origin(apiA.url);
    clients.push(own);
    await ready(own);

    // A signed-out session is refused at once, on either replica.
    const leaving = await shopper(apiA);
    const cookie = leaving.http.cookie;
    expect((await leaving.http.send('POST', '/auth/logout')).status).toBeLessThan(300);
    await expect(ready(connect(apiB, cookie))).rejects.toMatchObject({ data: { statusCode: 401 } });
  });

  it('ends a socket when its access token expires, saying why', async () => {
    const customer = await shopper(apiA);
    const shortLived = connect(apiB, `access_token=${resignedToken(customer.http.cookie, 2)}`);
    await ready(shortLived);
    const reason = new Promise<string>((resolve) => shortLived.socket.once('disconnect', resolve));
    await waitFor(() => shortLived.named('session_expired').length === 1, {
      what: 'session_expired',
      timeoutMs: 10_000,
    });
    expect(shortLived.named('session_expired')[0]?.payload.message).toMatch(/expired.*refresh/);
    // The server ended it: the client does not reconnect by itself with the expired token.
    expect(await reason).toBe('io server disconnect');
  });

  it('ends a socket on every replica when its session ends or its token is outdated', async () => {
    // Signed out on replica B: the socket on A is ended at once, saying why.
    const leaving = await shopper(apiB);
    const leavingSocket = connect(apiA, leaving.http.cookie);
    await ready(leavingSocket);
    const ended = new Promise<string>((resolve) =>
      leavingSocket.socket.once('disconnect', resolve),
    );
    expect((await leaving.http.send('POST', '/auth/logout')).status).toBe(204);
    await waitFor(() => leavingSocket.named('session_ended').length > 0, {
      what: 'session_ended after the logout',
      timeoutMs: 10_000,
    });
    expect(await ended).toBe('io server disconnect');
    expect(leavingSocket.named('session_ended')[0]?.payload).toEqual({
      message: 'The session has ended; sign in again',
    });

    // A staff member demoted on B stops receiving everyone's orders on A at once.
    const member = await shopper(apiB);
    expect((await admin.send('PATCH', `/users/${member.id}/role`, { role: 'staff' })).status).toBe(
      200,
    );
    const staffSession = fetchHttp(apiB.url);
    await signIn(staffSession, { email: member.email, password: 'shopper-password' });
    const staffSocket = connect(apiA, staffSession.cookie);
    await ready(staffSocket);
    const demoted = new Promise<string>((resolve) =>
      staffSocket.socket.once('disconnect', resolve),
    );
    expect(
      (await admin.send('PATCH', `/users/${member.id}/role`, { role: 'customer' })).status,
    ).toBe(200);
    await waitFor(() => staffSocket.named('session_ended').length > 0, {
      what: 'session_ended after the demotion',
      timeoutMs: 10_000,
    });
    expect(await demoted).toBe('io server disconnect');
    expect(staffSocket.named('session_ended')[0]?.payload).toEqual({
      message: 'The access token is outdated; refresh it',
    });
    // Its refreshed session connects again, as a shopper: no staff events any more.
    expect((await staffSession.send('POST', '/auth/refresh')).status).toBe(200);
    const again = connect(apiA, staffSession.cookie);
    const staffWatch = connect(apiA, admin.cookie);
    await Promise.all([ready(again), ready(staffWatch)]);
    const product = await createProduct(admin, { quantity: 1 });
    const other = await shopper(apiB);
    const order = await placeOrder(other.http, [{ productId: product.id, quantity: 1 }]);
    // Staff on the same replica receive it in the same emit that would have reached `again`.
    await waitFor(() => statusUpdatesOf(staffWatch, order.id).length > 0, {
      what: 'staff to receive the outcome',
    });
    expect(again.named('new_order')).toEqual([]);
    expect(again.named('order_status_update')).toEqual([]);
  });

  it('lets a stopping replica close its sockets as lost connections, which clients resume', async () => {
    const replica = await startAppProcess({ ...env, APP_ROLE: 'api' });
    running.push(replica);
    const customer = await shopper(apiA);
    const client = connect(replica, customer.http.cookie, 500);
    await ready(client);
    const reason = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
    // SIGTERM with a socket open: the process still exits cleanly, and promptly.
    expect(await replica.stop('SIGTERM')).toBe(0);
    // A lost connection, not a server disconnect: socket.io-client tries to reconnect by itself.
    expect(await reason).toBe('transport close');
    expect(client.socket.active).toBe(true);
  });

  /** The session's access token signed again to expire `seconds` from now (negative: already). */
  function resignedToken(cookie: string, seconds: number): string {
    const token = /access_token=([^;]+)/.exec(cookie)?.[1];
    if (!token) throw new Error('no access token in the session');
    const codec = tokenCodec(accessKeys(loadConfig(env).jwt));
    const { sub, role, sid, sv } = codec.decode<Record<string, unknown>>(token);
    const now = Math.floor(Date.now() / 1000);
    // Issued two minutes ago, so even an already expired token has a positive lifetime.
    return codec.sign(
      { sub, role, sid, ...(sv === undefined ? {} : { sv }), iat: now - 120 },
      { expiresIn: 120 + seconds },
    );
  }
});

function isIncreasing(ids: string[]): boolean {
  const key = (id: string) => {
    const [entry = '', index = '0'] = id.split(':');
    const [ms = '0', n = '0'] = entry.split('-');
    return [Number(ms), Number(n), Number(index)];
  };
  for (let i = 1; i < ids.length; i++) {
    const [a, b] = [key(ids[i - 1] ?? ''), key(ids[i] ?? '')];
    const order =
      (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0) || (a[2] ?? 0) - (b[2] ?? 0);
    if (order >= 0) return false;
  }
  return true;
}
