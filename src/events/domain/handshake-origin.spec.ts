import { handshakeOriginAllowed } from './handshake-origin.js';

describe('the Origin of a Socket.IO handshake', () => {
  const allowed = ['https://shop.example.com'];

  it('admits clients that send none (not browsers)', () => {
    expect(handshakeOriginAllowed(undefined, 'api.example.com', allowed)).toBe(true);
  });

  it('admits pages of the API’s own host, whatever the port', () => {
    expect(handshakeOriginAllowed('https://api.example.com', 'api.example.com', allowed)).toBe(
      true,
    );
    expect(handshakeOriginAllowed('http://127.0.0.1:8080', '127.0.0.1', allowed)).toBe(true);
    expect(handshakeOriginAllowed('http://localhost:3000', 'localhost:3000', allowed)).toBe(true);
    expect(handshakeOriginAllowed('http://[::1]:8080', '[::1]:8080', allowed)).toBe(true);
    expect(handshakeOriginAllowed('https://API.example.com', 'api.EXAMPLE.com', allowed)).toBe(
      true,
    );
  });

  it('admits the origins of CORS_ORIGINS', () => {
    expect(handshakeOriginAllowed('https://shop.example.com', 'api.example.com', allowed)).toBe(
      true,
    );
  });

  it('refuses any other origin, and what is not an origin', () => {
    expect(handshakeOriginAllowed('https://evil.example', 'api.example.com', allowed)).toBe(false);
    expect(handshakeOriginAllowed('https://blog.example.com', 'api.example.com', allowed)).toBe(
      false,
    );
    expect(handshakeOriginAllowed('null', 'api.example.com', allowed)).toBe(false);
    expect(handshakeOriginAllowed('', 'api.example.com', allowed)).toBe(false);
    expect(handshakeOriginAllowed('https://api.example.com', undefined, allowed)).toBe(false);
    expect(
      handshakeOriginAllowed('https://api.example.com.evil.example', 'api.example.com', allowed),
    ).toBe(false);
  });
});
