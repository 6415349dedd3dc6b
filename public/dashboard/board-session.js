/**
 * Keeps the session of an open Bull Board alive (src/admin/queue-board.ts adds this script to the
 * board's page, with `access-ttl`: how long an access token lives, in seconds).
 *
 * The board polls its API with the access cookie; the refresh cookie travels only to /auth, so
 * nothing the board does renews the session. This script refreshes it as the page opens (the
 * current token's age is unknown here), then each time two thirds of a token's life has passed.
 * It compares wall-clock times rather than trusting one long timer, which a sleeping laptop or a
 * background tab delays. When the session has ended, or its user is no longer an admin, it sends
 * the browser to the sign-in page, which comes back here once it may.
 */
const script = new URL(import.meta.url);
const lifetimeMs = Number(script.searchParams.get('access-ttl')) * 1000;
const renewEveryMs = (lifetimeMs * 2) / 3;
let renewedAt = -Infinity;
let renewing = false;

async function renew() {
  if (renewing || Date.now() - renewedAt < renewEveryMs) return;
  renewing = true;
  try {
    const res = await fetch('/auth/refresh', { method: 'POST' });
    if (res.status === 401) return signIn();
    if (!res.ok) return;
    renewedAt = Date.now();
    // No longer an admin (a role change): the board would answer 403 from now on.
    if ((await res.json()).user.role !== 'admin') signIn();
  } catch {
    // The API is out of reach: the next check tries again.
  } finally {
    renewing = false;
  }
}

/** The dashboard's sign-in (this script's directory), coming back here afterwards. */
function signIn() {
  const page = new URL('./', script);
  page.searchParams.set('next', location.pathname + location.search + location.hash);
  location.assign(page);
}

if (lifetimeMs > 0) {
  renew();
  setInterval(renew, Math.min(lifetimeMs / 6, 15_000));
}
