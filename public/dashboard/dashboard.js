/**
 * The staff dashboard (served at /dashboard/ by src/dashboard.ts; docs/OPERATIONS.md).
 *
 * It signs in with the API's cookie flow, then follows the live events of the namespace /events
 * (src/events/events.gateway.ts): orders as they are accepted and decided, stock per product, the
 * queue summary. After a reconnection it resumes from the last event it saw; told to re-sync, it
 * reads orders and stock again over REST; when the server ends the socket's session it refreshes
 * the session and connects again, or signs out when it has ended or is no longer staff's. Every value is shown with textContent: names and reasons are
 * data, never markup. It also shows today's sales (docs/REPORTS.md), read again as orders come in.
 */

/** Rows of the orders table: GET /admin/orders answers at most 100 at a time. */
const ORDERS_SHOWN = 100;
/** The only place `next` may lead back to after sign-in: the queue board. */
const BOARD = '/admin/queues';
/** Before connecting again after the server could not join the socket to the feed. */
const RETRY_MS = 3000;
/** Today's reports are read again at most this often while orders come in. */
const REPORTS_REFRESH_MS = 2000;

const byId = (id) => document.getElementById(id);
const ordersBody = byId('orders').tBodies[0];
const stockBody = byId('stock').tBodies[0];

/** orderId → { row, seq, changedAt }: seq is the order history's; changedAt counts changes. */
const orders = new Map();
/** productId → { row, version } */
const products = new Map();
let changes = 0;
let socket;
let lastEventId;
/** Session renewals since the socket last connected: a second in a row means it cannot be. */
let renewals = 0;

// --- Session -------------------------------------------------------------------------------

/** The signed-in user, refreshing an expired access token once; undefined when signed out. */
async function currentUser() {
  const res = await fetch('/auth/profile');
  if (res.ok) return (await res.json()).user;
  return res.status === 401 ? refreshedUser() : undefined;
}

/** The user of the session POST /auth/refresh renewed, or undefined when it has ended. */
async function refreshedUser() {
  const res = await fetch('/auth/refresh', { method: 'POST' });
  return res.ok ? (await res.json()).user : undefined;
}

const isStaff = (user) => user.role === 'staff' || user.role === 'admin';

/** `next` when it is a path of the queue board on this origin; anything else is ignored. */
function boardPath(next) {
  if (!next) return undefined;
  try {
    const url = new URL(next, location.origin);
    const onBoard = url.pathname === BOARD || url.pathname.startsWith(`${BOARD}/`);
    if (url.origin === location.origin && onBoard) return url.pathname + url.search + url.hash;
  } catch {
    // not a URL: ignored
  }
  return undefined;
}

function enter(user) {
  byId('who-name').textContent = `${user.email} (${user.role})`;
  byId('who').hidden = false;
  byId('sign-in').hidden = true;
  if (!isStaff(user)) {
    notify(`${user.email} is a ${user.role} account: this dashboard is for staff and admins.`);
    return;
  }
  const next = boardPath(new URLSearchParams(location.search).get('next'));
  if (next && user.role === 'admin') return location.replace(next);
  notify(next ? 'The queue board is for admins only.' : '');
  byId('dashboard').hidden = false;
  connect();
}

function leave(message) {
  socket?.disconnect();
  socket = undefined;
  lastEventId = undefined;
  for (const body of [ordersBody, stockBody]) body.replaceChildren();
  orders.clear();
  products.clear();
  clearToday();
  byId('dashboard').hidden = true;
  byId('who').hidden = true;
  byId('sign-in').hidden = false;
  setConnection('offline');
  notify(message);
}

byId('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const res = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) return notify(body.message ?? `Sign-in failed (${res.status})`);
  event.target.reset();
  enter(body.user);
});

byId('sign-out').addEventListener('click', async () => {
  await fetch('/auth/logout', { method: 'POST' });
  leave('Signed out.');
});

// --- Live events ---------------------------------------------------------------------------

function connect() {
  let resuming = false;
  socket = io('/events', {
    // Asked at every (re)connection: resume after the last event seen, if any.
    auth: (send) => {
      resuming = lastEventId !== undefined;
      send(resuming ? { lastEventId } : {});
    },
  });
  socket.on('connect', () => {
    renewals = 0;
    setConnection('live');
  });
  socket.on('disconnect', (reason) => {
    setConnection('reconnecting');
    // The server could not join it to the feed and said to try again; it will not by itself.
    if (reason === 'io server disconnect') setTimeout(() => socket?.connect(), RETRY_MS);
  });
  // A refused handshake (expired or revoked session): socket.io-client does not retry those.
  socket.on('connect_error', () => {
    if (!socket.active) renewSession();
  });
  // The token expired, or the session ended or changed (sign-out elsewhere, a new role): the
  // server disconnects; a refresh says which, and with what role.
  for (const ending of ['session_expired', 'session_ended'])
    socket.on(ending, () => {
      socket.disconnect();
      renewSession();
    });
  socket.on('events_ready', (ready) => {
    seen(ready.lastEventId);
    // A first connection has nothing to resume from: what exists already is read over REST.
    if (!resuming) readAll();
  });
  socket.on('resync_required', readAll);
  for (const name of ['new_order', 'order_status_update'])
    socket.on(name, (event) => {
      showOrder(event);
      orderChanged(event.at);
    });
  socket.on('stock_changed', (event) => {
    seen(event.id);
    showStock(event.productId, event.available, event.version);
  });
  socket.on('queue_summary', showQueue);
}

/** After the server ended or refused the socket's session: refresh it, then connect again. */
async function renewSession() {
  setConnection('reconnecting');
  if (renewals++ > 0) return leave('Your session has ended: sign in again.');
  let user;
  try {
    user = await refreshedUser();
  } catch {
    // The API is out of reach, which says nothing about the session: try again shortly.
    renewals = 0;
    return setTimeout(renewSession, RETRY_MS);
  }
  if (!user) return leave('Your session has ended: sign in again.');
  if (!isStaff(user)) return leave(`${user.email} is no longer staff.`);
  socket?.connect();
}

/** Keeps the furthest event id seen: ids are `<ms>-<n>:<index>` and grow in publication order. */
function seen(id) {
  if (typeof id === 'string' && (lastEventId === undefined || compareEventIds(id, lastEventId) > 0))
    lastEventId = id;
}

function compareEventIds(a, b) {
  const [x, y] = [a, b].map((id) => id.split(/[-:]/).map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

// --- Orders --------------------------------------------------------------------------------

/** An event about an order; per order only a higher `seq` than shown changes the row. */
function showOrder(event) {
  seen(event.id);
  const known = orders.get(event.orderId);
  if (known && event.seq <= known.seq) return;
  const order = known ?? addOrder(event.orderId, 'newest');
  order.seq = event.seq;
  order.changedAt = ++changes;
  order.row.dataset.status = event.status;
  fill(order.row, {
    number: event.orderNumber,
    status: event.status,
    reason: event.reason ?? '',
    priority: event.priority,
    ...(event.items ? { lines: lines(event.items) } : {}),
    ...(event.total === undefined ? {} : { total: money(event.total, event.currency) }),
    at: time(event.at),
  });
}

/**
 * The newest orders over REST (a first connection, or events missed beyond the replay window).
 * Rows an event changed while the request ran are at least as new as the answer and stay.
 */
async function readOrders() {
  const since = changes;
  const res = await fetch(`/admin/orders?limit=${ORDERS_SHOWN}`);
  if (!res.ok) return notify(`Could not read the orders (${res.status}).`);
  const { items } = await res.json();
  for (const [id, order] of orders)
    if (order.changedAt <= since) {
      order.row.remove();
      orders.delete(id);
    }
  for (const item of items) {
    if (orders.has(item.id)) continue;
    const { row } = addOrder(item.id, 'oldest');
    row.dataset.status = item.status;
    fill(row, {
      number: item.orderNumber,
      status: item.status,
      reason: item.failureReason ?? '',
      priority: item.priority,
      lines: lines(item.items),
      total: money(item.total, item.currency),
      at: time(item.updatedAt),
    });
  }
}

function addOrder(orderId, end) {
  const row = newRow(['number', 'status', 'reason', 'priority', 'lines', 'total', 'at']);
  row.dataset.orderId = orderId;
  if (end === 'newest') ordersBody.prepend(row);
  else ordersBody.append(row);
  const order = { row, seq: 0, changedAt: 0 };
  orders.set(orderId, order);
  // The table keeps the newest rows only.
  while (ordersBody.rows.length > ORDERS_SHOWN) {
    const oldest = ordersBody.rows[ordersBody.rows.length - 1];
    orders.delete(oldest.dataset.orderId);
    oldest.remove();
  }
  return order;
}

const lines = (items) =>
  items
    .map(
      (item) =>
        `${item.name ?? products.get(item.productId)?.name ?? item.productId} × ${item.quantity}`,
    )
    .join(', ');

// --- Stock ---------------------------------------------------------------------------------

/** Availability of a product; an event naming an older version than shown is stale. */
function showStock(productId, available, version) {
  const product = products.get(productId) ?? addProduct(productId);
  if (version !== undefined && product.version !== undefined && version < product.version) return;
  if (version !== undefined) product.version = version;
  fill(product.row, { available: String(available) });
}

function addProduct(productId, name) {
  const row = newRow(['name', 'available']);
  row.dataset.productId = productId;
  stockBody.append(row);
  const product = { row, version: undefined };
  products.set(productId, product);
  if (name === undefined) nameProduct(product, productId);
  else setName(product, name);
  return product;
}

/** A product first seen in an event: its name comes from the catalog. */
async function nameProduct(product, productId) {
  setName(product, productId);
  const res = await fetch(`/stock/products-with-stock/${encodeURIComponent(productId)}`);
  if (res.ok) setName(product, (await res.json()).name);
}

function setName(product, name) {
  product.name = name;
  fill(product.row, { name });
}

/** Every product on sale, page by page. */
async function readStock() {
  for (let page = 1; ; page++) {
    const res = await fetch(`/stock/products-with-stock?page=${page}&limit=100`);
    if (!res.ok) return notify(`Could not read the stock (${res.status}).`);
    const { items, total, limit } = await res.json();
    for (const item of items) {
      setName(products.get(item.id) ?? addProduct(item.id, item.name), item.name);
      showStock(item.id, item.available, item.version);
    }
    if (page * limit >= total || items.length === 0) return;
  }
}

function readAll() {
  readStock();
  readOrders();
  refreshToday();
}

// --- Today ---------------------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
/** The chart in its own units: a column per hour, orders above, revenue below, hours under both. */
const CHART = { column: 30, pad: 3, orders: 100, gap: 6, revenue: 50, labels: 16 };

let todayTimer;
let todayReadAt = 0;
/** Counts reads, so that an answer a newer read or a sign-out overtook is dropped. */
let todayReads = 0;
/** When the newest order event happened: reports older than that are read again. */
let lastOrderChangeAt = 0;

function orderChanged(at) {
  lastOrderChangeAt = Math.max(lastOrderChangeAt, Date.parse(at) || 0);
  refreshToday();
}

/** Reads today's reports now, or once the last read is REPORTS_REFRESH_MS old. */
function refreshToday() {
  if (todayTimer !== undefined) return;
  const wait = Math.max(0, todayReadAt + REPORTS_REFRESH_MS - Date.now());
  todayTimer = setTimeout(readToday, wait);
}

/** Today in the browser's time zone: the summary and the hourly series. */
async function readToday() {
  todayTimer = undefined;
  todayReadAt = Date.now();
  const read = ++todayReads;
  const day = localDate(new Date());
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const query = new URLSearchParams({ from: day, to: day, tz });
  const answers = await Promise.all([
    fetch(`/admin/reports/summary?${query}`),
    fetch(`/admin/reports/series?${query}&interval=hour`),
  ]);
  const failed = answers.find((res) => !res.ok);
  if (read !== todayReads) return;
  if (failed) return notify(`Could not read today's reports (${failed.status}).`);
  const [summary, series] = await Promise.all(answers.map((res) => res.json()));
  if (read !== todayReads) return;
  showSummary(summary);
  drawHours(series.items);
  // The reports are rollups that follow the orders by a moment: read again until they cover
  // the last change seen.
  if (Date.parse(summary.asOf) < lastOrderChangeAt) refreshToday();
}

function clearToday() {
  clearTimeout(todayTimer);
  todayTimer = undefined;
  todayReads++;
  lastOrderChangeAt = 0;
  for (const cell of byId('today').querySelectorAll('[data-field]')) cell.textContent = '–';
  for (const id of ['today-as-of', 'today-chart', 'today-legend']) byId(id).replaceChildren();
}

function showSummary({ orders, revenue, vip, regular, decisionMs, asOf }) {
  const reasons = Object.entries(orders.byFailureReason).map(([reason, n]) => `${reason} ${n}`);
  fill(byId('today'), {
    total: String(orders.total),
    // Those that got their stock, cancelled since or not: the chart's `confirmed` too.
    confirmed: String(vip.confirmed + regular.confirmed),
    failed: `${orders.byStatus.FAILED ?? 0}${reasons.length ? ` (${reasons.join(', ')})` : ''}`,
    revenue: amounts(revenue) || '–',
    vip: rate(vip),
    regular: rate(regular),
    decision: decisionMs.count ? `${decisionMs.p50} / ${decisionMs.p95} ms` : '–',
  });
  byId('today-as-of').textContent = `as of ${time(asOf)}`;
}

const rate = ({ orders, rate }) =>
  rate === null ? '–' : `${(rate * 100).toFixed(1)} % of ${orders}`;

const amounts = (revenue) => revenue.map((r) => money(r.amount, r.currency)).join(' · ');

/**
 * A column per hour: orders as a bar (confirmed ones darker), under it one bar per currency, each
 * scaled to that currency's best hour (currencies do not add up). Each column carries what it
 * shows in data attributes and says it in a title.
 */
function drawHours(items) {
  const { column, pad, orders, gap, revenue, labels } = CHART;
  const mostOrders = Math.max(1, ...items.map((item) => item.orders));
  const currencies = [...new Set(items.flatMap((item) => item.revenue.map((r) => r.currency)))];
  currencies.sort();
  const best = currencies.map((currency) =>
    Math.max(1, ...items.map((item) => amountIn(item, currency))),
  );
  const chart = byId('today-chart');
  chart.setAttribute('viewBox', `0 0 ${items.length * column} ${orders + gap + revenue + labels}`);
  chart.replaceChildren(
    ...items.map((item, index) => {
      const x = index * column;
      const hour = svg('g', {
        class: 'hour',
        'data-start': item.start,
        'data-orders': item.orders,
        'data-confirmed': item.confirmed,
        'data-revenue': JSON.stringify(item.revenue),
      });
      const title = svg('title');
      title.textContent = `${clock(item.start)}: ${item.orders} orders, ${item.confirmed} confirmed${
        item.revenue.length ? `, ${amounts(item.revenue)}` : ''
      }`;
      hour.append(
        title,
        bar('orders', x + pad, orders, column - 2 * pad, (orders * item.orders) / mostOrders),
        bar('confirmed', x + pad, orders, column - 2 * pad, (orders * item.confirmed) / mostOrders),
      );
      const width = (column - 2 * pad) / Math.max(1, currencies.length);
      currencies.forEach((currency, i) => {
        const height = (revenue * amountIn(item, currency)) / best[i];
        hour.append(
          bar(`revenue c${i % 4}`, x + pad + i * width, orders + gap + revenue, width, height),
        );
      });
      if (index % 3 === 0) {
        const label = svg('text', { x: x + pad, y: orders + gap + revenue + labels - 3 });
        label.textContent = clock(item.start);
        hour.append(label);
      }
      return hour;
    }),
  );
  byId('today-legend').replaceChildren(
    legend('orders', `orders per hour, up to ${mostOrders}`),
    legend('confirmed', 'confirmed'),
    ...currencies.map((currency, i) =>
      legend(`revenue c${i % 4}`, `${currency}, up to ${money(best[i], currency)}`),
    ),
  );
}

/** A bar standing on `base`. */
const bar = (kind, x, base, width, height) =>
  svg('rect', { class: kind, x, y: base - height, width, height });

function legend(kind, text) {
  const entry = document.createElement('span');
  entry.className = `legend ${kind}`;
  entry.textContent = text;
  return entry;
}

function svg(name, attributes = {}) {
  const element = document.createElementNS(SVG, name);
  for (const [attribute, value] of Object.entries(attributes))
    element.setAttribute(attribute, String(value));
  return element;
}

const amountIn = (item, currency) => item.revenue.find((r) => r.currency === currency)?.amount ?? 0;

/** `HH:MM` of an instant the API wrote with the zone's offset: its wall-clock time there. */
const clock = (start) => start.slice(11, 16);

/** `YYYY-MM-DD` of the browser's own day. */
const localDate = (now) =>
  [now.getFullYear(), now.getMonth() + 1, now.getDate()]
    .map((n) => String(n).padStart(2, '0'))
    .join('-');

// --- Queue and page ------------------------------------------------------------------------

function showQueue(summary) {
  for (const cell of byId('queue').querySelectorAll('[data-field]'))
    cell.textContent = String(summary[cell.dataset.field] ?? '–');
}

function newRow(fields) {
  const row = document.createElement('tr');
  for (const field of fields) {
    const cell = row.insertCell();
    cell.dataset.field = field;
  }
  return row;
}

/** Sets the named cells of a row, as text. */
function fill(row, values) {
  for (const [field, value] of Object.entries(values))
    row.querySelector(`[data-field="${field}"]`).textContent = value;
}

function notify(message) {
  const notice = byId('notice');
  notice.textContent = message;
  notice.hidden = !message;
}

function setConnection(state) {
  const indicator = byId('connection');
  indicator.dataset.state = state;
  indicator.textContent = state;
}

function money(minor, currency) {
  const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
}

const time = (at) => new Date(at).toLocaleTimeString();

// A request that could not reach the API (network, server down) is said so, wherever it was made.
window.addEventListener('unhandledrejection', () => notify('The API cannot be reached.'));

currentUser().then((user) => (user ? enter(user) : leave('')));
