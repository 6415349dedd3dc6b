import { newVersion, versionInForce } from './session-revocation.js';

describe('token versions', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');

  it('are in force until the expiry they name, like the Redis key that holds them', () => {
    const version = newVersion(now + 960_000, 'r4nd0m');
    expect(version).toBe(`${now + 960_000}.r4nd0m`);
    expect(versionInForce(version, now)).toBe(true);
    expect(versionInForce(version, now + 959_999)).toBe(true);
    // A replica whose cache still holds it past then treats the account as having none.
    expect(versionInForce(version, now + 960_000)).toBe(false);
  });

  it('treats no version, or one it cannot read, as none', () => {
    expect(versionInForce(undefined, now)).toBe(false);
    expect(versionInForce('', now)).toBe(false);
    expect(versionInForce('garbage', now)).toBe(false);
    expect(versionInForce('.r4nd0m', now)).toBe(false);
  });
});
