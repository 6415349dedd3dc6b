/**
 * Requests Node's HTTP parser refuses before the application sees them: headers over Node's limit
 * (16 KB in all by default), a malformed request line, a client too slow to send its headers.
 * Node would answer them with a bare status line; this answers in the API's error shape, naming
 * the problem, and closes the connection (the parser cannot continue on it).
 */
import { STATUS_CODES, maxHeaderSize } from 'node:http';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

function refusal(code: string | undefined): [number, string] {
  if (code === 'HPE_HEADER_OVERFLOW')
    return [431, `Request headers are too large: at most ${maxHeaderSize} bytes in all`];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT')
    return [408, 'The request was not received in time'];
  return [400, 'Malformed HTTP request'];
}

export function answerMalformedRequests(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, message] = refusal(err.code);
    const error = STATUS_CODES[status] ?? 'Error';
    const body = JSON.stringify({ statusCode: status, error, message });
    socket.end(
      `HTTP/1.1 ${status} ${error}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
