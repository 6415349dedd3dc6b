import { sameSite, siteOf } from './cross-site.js';

describe('sites (what SameSite cookies follow)', () => {
  it('is the scheme and the registrable domain', () => {
    expect(siteOf('https://shop.example.com')).toBe('https://example.com');
    expect(siteOf('https://api.shop.example.co.uk:8443')).toBe('https://example.co.uk');
    expect(siteOf('http://localhost:3000')).toBe('http://localhost');
    expect(siteOf('http://127.0.0.1:8000')).toBe('http://127.0.0.1');
    expect(siteOf('not a url')).toBeUndefined();
  });

  it('tells same-site pairs from cross-site ones', () => {
    expect(sameSite('https://shop.example.com', 'https://api.example.com')).toBe(true);
    expect(sameSite('http://localhost:5173', 'http://localhost:8000')).toBe(true);
    expect(sameSite('http://localhost:5173', 'http://127.0.0.1:8000')).toBe(false);
    expect(sameSite('https://shop.example.com', 'https://api.other.com')).toBe(false);
    // The scheme counts too.
    expect(sameSite('http://shop.example.com', 'https://api.example.com')).toBe(false);
    // A public suffix does not make one site of its tenants.
    expect(sameSite('https://a.github.io', 'https://b.github.io')).toBe(false);
  });
});
