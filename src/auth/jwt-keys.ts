/**
 * JWTs of one kind (access or refresh): HS256 with their own secret, issuer checked. jsonwebtoken
 * turns a string secret into a key object on every call, first trying (and failing, with a thrown
 * error) to parse it as a public key; that cost a third of a request's CPU. So each secret becomes
 * a KeyObject once.
 *
 * Secrets rotate without ending sessions: every token names its key in the `kid` header, an id
 * derived from the secret, and a keyring verifies with the current secret or, under its own key id
 * only, with the previous one (JWT_*_SECRET_PREVIOUS). Any other key id fails. A token without a
 * key id was issued before key ids existed and is verified with the current secret only.
 */
import { JwtSecretRequestType, JwtService } from '@nestjs/jwt';
import { KeyObject, createHash, createSecretKey } from 'node:crypto';
import type { AppConfig } from '../config/config.js';

export const JWT_ISSUER = 'order-backend';

const keys = new Map<string, KeyObject>();

export function hmacKey(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  return key;
}

/**
 * A secret's key id: the first 8 bytes of its SHA-256, base64url (11 characters). It tells keys
 * apart and reveals nothing usable about a secret of 32 random bytes. An operator can compute it:
 * `printf %s "$SECRET" | openssl dgst -sha256 -binary | head -c 8 | basenc --base64url | tr -d =`.
 */
export function keyId(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest().subarray(0, 8).toString('base64url');
}

/** The `kid` in a JWT's header: undefined when there is none, null when the header is unreadable. */
export function headerKeyId(token: string): string | undefined | null {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    if (header.kid === undefined) return undefined;
    return typeof header.kid === 'string' ? header.kid : null;
  } catch {
    return null;
  }
}

export class UnknownKeyError extends Error {
  constructor() {
    super('token signed with an unknown key');
  }
}

/** The keys of one kind of token: the current one signs; it and the previous one verify. */
export class JwtKeyring {
  readonly kid: string;
  readonly key: KeyObject;
  private readonly previous?: { kid: string; key: KeyObject };

  constructor(secret: string, previousSecret?: string) {
    this.kid = keyId(secret);
    this.key = hmacKey(secret);
    if (previousSecret !== undefined && previousSecret !== secret)
      this.previous = { kid: keyId(previousSecret), key: hmacKey(previousSecret) };
  }

  /** The key to verify `token` with, chosen by the key id it names; undefined: no key of ours. */
  verificationKey(token: string): KeyObject | undefined {
    const kid = headerKeyId(token);
    // No key id: issued before key ids; an unreadable header fails in jsonwebtoken anyway.
    if (kid === undefined || kid === null || kid === this.kid) return this.key;
    return kid === this.previous?.kid ? this.previous.key : undefined;
  }
}

export function accessKeys(jwt: AppConfig['jwt']): JwtKeyring {
  return new JwtKeyring(jwt.accessSecret, jwt.accessSecretPrevious);
}

export function refreshKeys(jwt: AppConfig['jwt']): JwtKeyring {
  return new JwtKeyring(jwt.refreshSecret, jwt.refreshSecretPrevious);
}

/** Signs and verifies one kind of token; `expiresIn` in seconds. */
export function tokenCodec(keys: JwtKeyring, expiresIn?: number): JwtService {
  return new JwtService({
    secretOrKeyProvider: (requestType, token) => {
      if (requestType === JwtSecretRequestType.SIGN) return keys.key;
      const key = typeof token === 'string' ? keys.verificationKey(token) : undefined;
      if (!key) throw new UnknownKeyError();
      return key;
    },
    signOptions: {
      issuer: JWT_ISSUER,
      algorithm: 'HS256',
      keyid: keys.kid,
      ...(expiresIn ? { expiresIn } : {}),
    },
    verifyOptions: { issuer: JWT_ISSUER, algorithms: ['HS256'] },
  });
}
