/**
 * Whether a Socket.IO handshake's Origin may open a socket with the cookies it carries: a page of
 * the API's own host, or an origin of CORS_ORIGINS. Clients that are not browsers send no Origin.
 * Without this check, a page of another origin on the same site (to which SameSite=Lax cookies
 * are sent) could open a socket with a visitor's session and read their events (cross-site
 * WebSocket hijacking: CORS does not apply to WebSockets).
 */
export function handshakeOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[],
): boolean {
  if (origin === undefined) return true;
  if (allowedOrigins.includes(origin)) return true;
  let originHost: string;
  try {
    originHost = new URL(origin).hostname;
  } catch {
    return false;
  }
  // The host name only: cookies are per host, not per port (Nginx passes `Host` without it).
  const requestHost = host
    ?.replace(/:\d+$/, '')
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return (
    requestHost !== undefined &&
    requestHost !== '' &&
    originHost.replace(/^\[|\]$/g, '') === requestHost
  );
}
