import { JwtService } from '@nestjs/jwt';
import { JWT_ISSUER, JwtKeyring, headerKeyId, hmacKey, keyId, tokenCodec } from './jwt-keys.js';

const CURRENT = 'current-secret-'.padEnd(43, 'c');
const PREVIOUS = 'previous-secret-'.padEnd(43, 'p');
const jwt = new JwtService();

function signed(secret: string, kid?: string): string {
  return jwt.sign(
    { sub: 'u1' },
    { secret, issuer: JWT_ISSUER, algorithm: 'HS256', ...(kid ? { keyid: kid } : {}) },
  );
}

describe('keyId', () => {
  it('is the first 8 bytes of the SHA-256 of the secret, in base64url', () => {
    // printf %s correct-horse-battery-staple | openssl dgst -sha256 -binary | head -c 8 | basenc --base64url
    expect(keyId('correct-horse-battery-staple')).toBe('h8vr_uvAX3w');
    expect(keyId(CURRENT)).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(keyId(CURRENT)).not.toBe(keyId(PREVIOUS));
  });
});

describe('headerKeyId', () => {
  it('reads the kid of a header, tells a missing one from an unreadable one', () => {
    expect(headerKeyId(signed(CURRENT, 'abc'))).toBe('abc');
    expect(headerKeyId(signed(CURRENT))).toBeUndefined();
    expect(headerKeyId('not-a-jwt')).toBeNull();
    expect(headerKeyId('%%%.e30.x')).toBeNull();
    const numericKid = `${Buffer.from('{"alg":"HS256","kid":7}').toString('base64url')}.e30.x`;
    expect(headerKeyId(numericKid)).toBeNull();
  });
});

describe('JwtKeyring', () => {
  const keys = new JwtKeyring(CURRENT, PREVIOUS);

  it('verifies with the current key under its id, or without an id (tokens from before ids)', () => {
    expect(keys.verificationKey(signed(CURRENT, keyId(CURRENT)))).toBe(hmacKey(CURRENT));
    expect(keys.verificationKey(signed(CURRENT))).toBe(hmacKey(CURRENT));
  });

  it('verifies with the previous key only under its own id', () => {
    expect(keys.verificationKey(signed(PREVIOUS, keyId(PREVIOUS)))).toBe(hmacKey(PREVIOUS));
    expect(keys.verificationKey(signed('x', 'someone-else'))).toBeUndefined();
    expect(new JwtKeyring(CURRENT).verificationKey(signed(PREVIOUS, keyId(PREVIOUS)))).toBe(
      undefined,
    );
  });

  it('keeps one KeyObject per secret', () => {
    expect(new JwtKeyring(CURRENT).key).toBe(keys.key);
  });
});

describe('tokenCodec', () => {
  const codec = tokenCodec(new JwtKeyring(CURRENT, PREVIOUS), 60);

  it('signs with the current key and names it', () => {
    const token = codec.sign({ sub: 'u1' });
    expect(headerKeyId(token)).toBe(keyId(CURRENT));
    expect(jwt.verify(token, { secret: CURRENT, issuer: JWT_ISSUER })).toMatchObject({ sub: 'u1' });
  });

  it('verifies what either key signed under its id, and nothing signed by another key', () => {
    expect(codec.verify(signed(PREVIOUS, keyId(PREVIOUS)))).toMatchObject({ sub: 'u1' });
    expect(() => codec.verify(signed(PREVIOUS))).toThrow();
    expect(() => codec.verify(signed(PREVIOUS, keyId(CURRENT)))).toThrow();
    expect(() => codec.verify(signed(CURRENT, keyId(PREVIOUS)))).toThrow();
    expect(() => codec.verify(signed('another-secret', 'unknown'))).toThrow('unknown key');
  });
});
