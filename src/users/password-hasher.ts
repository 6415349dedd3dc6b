import { Inject, Injectable } from '@nestjs/common';
import * as bcrypt from 'bcrypt';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** bcrypt reads at most this many bytes of a password: the rest would be ignored. */
export const MAX_PASSWORD_BYTES = 72;

export function passwordFits(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
}

/**
 * bcrypt hashing. bcrypt reads at most 72 bytes, so a longer password is refused at registration
 * (RegisterDto) and never matches at login: otherwise any password sharing the first 72 bytes
 * would sign in (36 "é" are 72 bytes).
 */
@Injectable()
export class PasswordHasher {
  /** Compared against when the account does not exist, so both failures take the same time. */
  private readonly decoy: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.decoy = bcrypt.hash('decoy-password-for-timing', config.bcryptRounds);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.config.bcryptRounds);
  }

  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const fits = passwordFits(password);
    // Compared in every case, so every refusal takes as long as a wrong password.
    const matches = await bcrypt.compare(fits ? password : '', hash ?? (await this.decoy));
    return fits && hash !== undefined && matches;
  }
}
